import {
  ConfigValidationError,
  dedupeIssues,
  formatPath,
  fromZodIssues,
  type ConfigIssue,
  type ObjectPath,
} from '../errors';
import { describeValue } from '../schema/primitives';
import { isPlainObject } from './hints';
import { crdOpenApiSchema } from './manifests';
import type { JSONSchemaProps } from './openapi';
import { InvalidReferenceError, parseReferenceOfKind } from './reference';
import {
  CRD_API_VERSION,
  CRD_KIND_INFO,
  CRD_KINDS,
  isCrdKind,
  ObjectMetaSchema,
  type CrdKind,
  type L7mpResource,
} from './schema';
import { prunedFields } from './structural';

const schemaCache = new Map<CrdKind, JSONSchemaProps>();
function openApiSchemaOf(kind: CrdKind): JSONSchemaProps {
  let schema = schemaCache.get(kind);
  if (schema === undefined) {
    schema = crdOpenApiSchema(kind);
    schemaCache.set(kind, schema);
  }
  return schema;
}

type RefSite = { path: ObjectPath; ref: string; kind: CrdKind };

/** Every reference to another custom resource in a spec, with the kind it must name. */
function referencesIn(kind: CrdKind, spec: Record<string, unknown>): RefSite[] {
  const sites: RefSite[] = [];
  const visit = (value: unknown, path: ObjectPath) => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, [...path, i]));
      return;
    }
    if (!isPlainObject(value)) return;
    for (const [key, child] of Object.entries(value)) {
      const childPath = [...path, key];
      if ((key === 'destinationRef' || key === 'clusterRef') && typeof child === 'string') {
        sites.push({ path: childPath, ref: child, kind: 'Target' });
      } else if (key === 'match' || key === 'value' || key === 'selector') {
        continue;
      } else {
        visit(child, childPath);
      }
    }
  };
  visit(spec, ['spec']);
  if (kind === 'Target' && typeof spec.linkedVirtualService === 'string') {
    sites.push({
      path: ['spec', 'linkedVirtualService'],
      ref: spec.linkedVirtualService,
      kind: 'VirtualService',
    });
  }
  return sites;
}

/**
 * Checks one l7mp.io/v1 manifest (a parsed YAML/JSON document) the way the API server and the
 * operator would, and returns every problem with its path (empty: valid): apiVersion, kind,
 * metadata.name, the spec against the schema, references to other resources, and fields the
 * API server would silently prune.
 */
export function validateManifest(doc: unknown): ConfigIssue[] {
  if (!isPlainObject(doc)) {
    return [{ path: [], message: `expected a Kubernetes object (a mapping), got ${describeValue(doc)}` }];
  }
  const issues: ConfigIssue[] = [];
  if (doc.apiVersion !== CRD_API_VERSION) {
    issues.push({
      path: ['apiVersion'],
      message: `expected "${CRD_API_VERSION}", got ${describeValue(doc.apiVersion)}`,
    });
  }
  const kind = doc.kind;
  if (!isCrdKind(kind)) {
    issues.push({
      path: ['kind'],
      message: `expected one of ${CRD_KINDS.join(', ')}, got ${describeValue(kind)}`,
    });
  }
  const metadata = ObjectMetaSchema.safeParse(doc.metadata ?? {}, { reportInput: true });
  if (doc.metadata === undefined) issues.push({ path: ['metadata'], message: 'required' });
  else if (!metadata.success) issues.push(...fromZodIssues(metadata.error.issues, ['metadata']));
  if (!isCrdKind(kind)) return dedupeIssues(issues);

  const spec = CRD_KIND_INFO[kind].spec.safeParse(doc.spec, { reportInput: true });
  if (!spec.success) issues.push(...fromZodIssues(spec.error.issues, ['spec']));
  if (isPlainObject(doc.spec)) {
    const namespace =
      metadata.success && metadata.data.namespace !== undefined ? metadata.data.namespace : 'default';
    for (const site of referencesIn(kind, doc.spec)) {
      try {
        parseReferenceOfKind(site.ref, { kind: site.kind, namespace, path: site.path });
      } catch (e) {
        if (!(e instanceof InvalidReferenceError)) throw e;
        issues.push({
          path: site.path,
          message: `invalid reference ${JSON.stringify(site.ref)}: ${e.reason}`,
        });
      }
    }
  }
  // A field already reported as wrong (e.g. an unknown protocol key) is not reported again as unknown.
  const reported = new Set(issues.map((i) => formatPath(i.path)));
  for (const path of prunedFields(doc, openApiSchemaOf(kind))) {
    if (reported.has(formatPath(path)) || reported.has(formatPath(path.slice(0, -1)))) continue;
    issues.push({ path, message: 'unknown field: the API server would drop it' });
  }
  return dedupeIssues(issues);
}

/** Validates a manifest and returns it typed, or throws a ConfigValidationError with every issue. */
export function parseManifest(doc: unknown): L7mpResource {
  const issues = validateManifest(doc);
  if (issues.length > 0) throw new ConfigValidationError(issues, 'invalid l7mp.io/v1 manifest');
  const kind = (doc as { kind: CrdKind }).kind;
  return CRD_KIND_INFO[kind].resource.parse(doc) as L7mpResource;
}
