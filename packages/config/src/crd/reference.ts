import { formatPath, type ObjectPath } from '../errors';
import {
  CRD_API_VERSION,
  CRD_GROUP,
  CRD_KIND_INFO,
  CRD_KINDS,
  CRD_VERSION,
  isCrdKind,
  type CrdKind,
} from './schema';

/** A custom resource named by a reference. */
export interface ObjectReference {
  readonly kind: CrdKind;
  readonly namespace: string;
  readonly name: string;
}

export interface ReferenceContext {
  /** The kind a bare name refers to (Target for destinationRef/clusterRef). */
  readonly kind: CrdKind;
  /** The namespace of the referring object; a bare name lives there. */
  readonly namespace: string;
  /** Where the reference is written in the referring manifest, for messages. */
  readonly path?: ObjectPath;
}

/** A reference that is in none of the accepted forms. */
export class InvalidReferenceError extends Error {
  readonly reference: string;
  readonly path: ObjectPath;
  readonly reason: string;

  constructor(reference: string, reason: string, path: ObjectPath = []) {
    const where = path.length > 0 ? `${formatPath(path)}: ` : '';
    super(`${where}invalid reference ${JSON.stringify(reference)}: ${reason}`);
    this.name = 'InvalidReferenceError';
    this.reference = reference;
    this.reason = reason;
    this.path = path;
  }
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const PLURAL_TO_KIND = new Map<string, CrdKind>(CRD_KINDS.map((k) => [CRD_KIND_INFO[k].plural, k]));

const SELF_LINK_PREFIX = `/apis/${CRD_GROUP}/${CRD_VERSION}/namespaces/`;
const CANONICAL_PREFIX = `/${CRD_API_VERSION}/`;

/**
 * The name of the proxy object made from a custom resource (anchor-operator §2.4), e.g.
 * `/l7mp.io/v1/Target/default/udp-cluster`.
 */
export function canonicalObjectName(kind: CrdKind, namespace: string, name: string): string {
  return `${CANONICAL_PREFIX}${kind}/${namespace}/${name}`;
}

/**
 * Resolves a reference written in any of the three forms to the object it names:
 * `/apis/l7mp.io/v1/namespaces/<ns>/<plural>/<name>` (the seed's selfLink form),
 * `/l7mp.io/v1/<Kind>/<ns>/<name>` (the proxy object name) and a bare `<name>` (an object of
 * `context.kind` in `context.namespace`). Throws InvalidReferenceError for anything else.
 */
export function parseReference(ref: string, context: ReferenceContext): ObjectReference {
  const path = context.path ?? [];
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(ref, reason, path);
  };
  if (typeof ref !== 'string' || ref === '') fail('a reference must be a non-empty string');
  if (/\s/.test(ref)) fail('a reference cannot contain whitespace');

  let kind: CrdKind;
  let namespace: string;
  let name: string;
  if (ref.startsWith(SELF_LINK_PREFIX)) {
    const parts = ref.slice(SELF_LINK_PREFIX.length).split('/');
    if (parts.length !== 3) fail(`expected ${SELF_LINK_PREFIX}<namespace>/<plural>/<name>`);
    const [ns, plural, objectName] = parts as [string, string, string];
    const pluralKind = PLURAL_TO_KIND.get(plural);
    if (pluralKind === undefined) {
      fail(`unknown resource "${plural}", expected one of ${[...PLURAL_TO_KIND.keys()].join(', ')}`);
    }
    kind = pluralKind as CrdKind;
    namespace = ns;
    name = objectName;
  } else if (ref.startsWith(CANONICAL_PREFIX)) {
    const parts = ref.slice(CANONICAL_PREFIX.length).split('/');
    if (parts.length !== 3) fail(`expected ${CANONICAL_PREFIX}<Kind>/<namespace>/<name>`);
    const [refKind, ns, objectName] = parts as [string, string, string];
    if (!isCrdKind(refKind)) fail(`unknown kind "${refKind}", expected one of ${CRD_KINDS.join(', ')}`);
    kind = refKind as CrdKind;
    namespace = ns;
    name = objectName;
  } else if (ref.includes('/')) {
    return fail(
      `expected a bare name, ${CANONICAL_PREFIX}<Kind>/<namespace>/<name> or ${SELF_LINK_PREFIX}<namespace>/<plural>/<name>`,
    );
  } else {
    kind = context.kind;
    namespace = context.namespace;
    name = ref;
  }
  if (!DNS_LABEL.test(namespace)) fail(`"${namespace}" is not a valid namespace name`);
  if (!DNS_SUBDOMAIN.test(name)) fail(`"${name}" is not a valid object name (lowercase DNS subdomain)`);
  return { kind, namespace, name };
}

/** parseReference that also insists on the kind, e.g. a destinationRef must name a Target. */
export function parseReferenceOfKind(ref: string, context: ReferenceContext): ObjectReference {
  const target = parseReference(ref, context);
  if (target.kind !== context.kind) {
    throw new InvalidReferenceError(
      ref,
      `must name a ${context.kind}, not a ${target.kind}`,
      context.path ?? [],
    );
  }
  return target;
}

/** The canonical proxy object name a reference stands for. */
export function resolveReference(ref: string, context: ReferenceContext): string {
  const target = parseReferenceOfKind(ref, context);
  return canonicalObjectName(target.kind, target.namespace, target.name);
}
