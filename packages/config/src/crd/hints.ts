import { z } from 'zod';
import { fromZodIssues } from '../errors';
import { describeValue } from '../schema/primitives';
import { CLUSTER_PROTOCOLS, LISTENER_PROTOCOLS } from '../schema/protocols';

/**
 * Facts about a schema that zod cannot express in a way the CRD generator can read back:
 * which keys of an object exclude or require each other, and which schema a custom (transform)
 * node should be rendered as. Kept in a registry so that validation and the generated CRD come
 * from the same declaration.
 */
export type KeyConstraint =
  | { readonly rule: 'exactlyOne'; readonly keys: readonly string[]; readonly message?: string }
  | { readonly rule: 'atMostOne'; readonly keys: readonly string[]; readonly message?: string }
  | { readonly rule: 'atLeastOne'; readonly keys: readonly string[]; readonly message?: string };

export interface CrdHint {
  /** Constraints on which keys of an object node may be present together. */
  readonly keyConstraints?: readonly KeyConstraint[];
  /** Render this node as the given schema (used for protocol specs validated in a transform). */
  readonly renderAs?: z.ZodType;
}

// Keyed by the definition, which clones made by .describe()/.meta() share with the original.
const hints = new WeakMap<object, CrdHint>();

/** The CRD hint attached to a schema node, if any. */
export function crdHintOf(schema: z.ZodType): CrdHint | undefined {
  return hints.get(schema._zod.def);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const quoteKeys = (keys: readonly string[]) => keys.map((k) => `"${k}"`).join(', ');

function present(value: Record<string, unknown>, keys: readonly string[]): string[] {
  return keys.filter((k) => value[k] !== undefined);
}

/** Returns the violation message of one constraint, or undefined when it holds. */
export function checkKeyConstraint(
  value: Record<string, unknown>,
  constraint: KeyConstraint,
): string | undefined {
  const found = present(value, constraint.keys);
  const tooMany = constraint.rule !== 'atLeastOne' && found.length > 1;
  const tooFew = constraint.rule !== 'atMostOne' && found.length === 0;
  if (!tooMany && !tooFew) return undefined;
  if (constraint.message !== undefined) return constraint.message;
  if (tooMany) return `${quoteKeys(found)} exclude each other: give only one`;
  return constraint.rule === 'exactlyOne'
    ? `needs exactly one of ${quoteKeys(constraint.keys)}`
    : `needs at least one of ${quoteKeys(constraint.keys)}`;
}

/**
 * Adds key constraints to an object schema: checked on validation (even when other fields have
 * problems, so a manifest's every issue is reported at once) and rendered into the CRD.
 */
export function withKeyConstraints<T extends z.ZodObject>(
  schema: T,
  constraints: readonly KeyConstraint[],
): T {
  const checked = schema.check(
    z.superRefine(
      (value: Record<string, unknown>, ctx) => {
        for (const constraint of constraints) {
          const message = checkKeyConstraint(value, constraint);
          if (message !== undefined) ctx.addIssue({ code: 'custom', path: [], message, input: value });
        }
      },
      { when: (payload) => isPlainObject(payload.value) },
    ),
  );
  hints.set(checked._zod.def, { keyConstraints: constraints });
  return checked;
}

// Nested specs (JSONSocket transports) use protocol keys of either side.
const ANY_PROTOCOL_KEY: ReadonlySet<string> = new Set<string>([
  ...LISTENER_PROTOCOLS,
  ...CLUSTER_PROTOCOLS,
  'Sdtio',
]);

/** Protocol names that may appear as the single key of a CRD-spelled protocol spec. */
export interface ProtocolSpecOptions {
  /** What the spec is, for messages: "listener" or "cluster". */
  readonly kind: string;
  /** The protocol keys the CRD accepts. */
  readonly protocols: readonly string[];
}

/**
 * Maps a path in the proxy spelling (`['transport', 'port']`) back to the CRD spelling of the
 * same document (`['JSONSocket', 'transport', 'UDP', 'port']`), so that messages point at what
 * the user wrote.
 */
export function crdSpellingPath(
  original: unknown,
  proxyPath: readonly (string | number)[],
  protocols: ReadonlySet<string>,
): (string | number)[] {
  const out: (string | number)[] = [];
  let node: unknown = original;
  const descendThroughProtocolKey = () => {
    if (!isPlainObject(node) || 'protocol' in node) return;
    const keys = Object.keys(node);
    const only = keys[0];
    if (keys.length === 1 && only !== undefined && protocols.has(only)) {
      out.push(only);
      node = node[only];
    }
  };
  for (const segment of proxyPath) {
    descendThroughProtocolKey();
    out.push(segment);
    node =
      isPlainObject(node) || Array.isArray(node)
        ? (node as Record<string | number, unknown>)[segment]
        : undefined;
  }
  return out;
}

/**
 * A protocol spec in the CRD spelling only (`{UDP: {port: 9001}}`, exactly one key), validated
 * by the proxy's schema and returned in the proxy spelling (`{protocol: 'UDP', port: 9001}`).
 * The proxy spelling is refused here because the API server would prune it.
 */
export function crdProtocolSpec<S extends z.ZodType>(proxySchema: S, options: ProtocolSpecOptions) {
  const allowed = new Set(options.protocols);
  const spec = z.unknown().transform((value, ctx): z.output<S> => {
    const fail = (message: string, path: (string | number)[] = []) => {
      ctx.addIssue({ code: 'custom', path, message, input: value });
      return z.NEVER;
    };
    if (!isPlainObject(value)) {
      return fail(
        `expected a ${options.kind} protocol spec such as {UDP: {port: 9001}}, got ${describeValue(value)}`,
      );
    }
    const keys = Object.keys(value);
    if ('protocol' in value) {
      return fail(
        `write the ${options.kind} spec as {<protocol>: {...}} (e.g. {UDP: {port: 9001}}), not with a "protocol" key`,
      );
    }
    if (keys.length !== 1) {
      return fail(
        keys.length === 0
          ? `needs exactly one protocol key, one of ${options.protocols.join(', ')}`
          : `needs exactly one protocol key, got ${keys.map((k) => `"${k}"`).join(', ')}`,
      );
    }
    const key = keys[0] as string;
    if (!allowed.has(key)) {
      return fail(
        `unknown ${options.kind} protocol "${key}", expected one of ${options.protocols.join(', ')}`,
        [key],
      );
    }
    const inner = value[key];
    if (inner !== null && inner !== undefined && !isPlainObject(inner)) {
      return fail(`expected an object with the ${key} settings, got ${describeValue(inner)}`, [key]);
    }
    const result = proxySchema.safeParse(value, { reportInput: true });
    if (result.success) return result.data;
    for (const issue of fromZodIssues(result.error.issues)) {
      ctx.addIssue({
        code: 'custom',
        path: crdSpellingPath(value, issue.path, ANY_PROTOCOL_KEY),
        message: issue.message,
        input: value,
      });
    }
    return z.NEVER;
  });
  hints.set(spec._zod.def, { renderAs: proxySchema });
  return spec;
}
