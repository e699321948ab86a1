import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import {
  AdminSchema,
  ClusterSchema,
  ConfigSchema,
  EndpointSchema,
  ListenerSchema,
  LoadBalancerSchema,
  RetrySchema,
  RouteSchema,
  RuleListSchema,
  RuleSchema,
} from './schema/objects';
import { FIRST_ORDER_OPS, MatchSchema, SECOND_ORDER_OPS } from './schema/predicate';
import { ClusterSpec, ListenerSpec, toProxySpelling } from './schema/protocols';

/** A JSON Schema document (draft 2020-12) as plain data. */
export type JsonSchema = Record<string, unknown>;

export const CONFIG_JSON_SCHEMA_ID = 'https://l7mp.io/schemas/l7mp-proxy-config.json';

const PREDICATE_DEF = 'Predicate';

/** json-predicate objects are recursive (and/or/not), so they live in `$defs`. */
function predicateJsonSchema(): JsonSchema {
  return {
    type: 'object',
    description: 'A json-predicate (draft-snell-json-test subset) tested against session metadata',
    properties: {
      op: { type: 'string', enum: [...FIRST_ORDER_OPS, ...SECOND_ORDER_OPS] },
      path: { type: 'string', description: 'Metadata path, e.g. /HTTP/url/path' },
      value: { description: 'Argument of first-order ops other than defined/undefined' },
      apply: {
        type: 'array',
        items: { $ref: `#/$defs/${PREDICATE_DEF}` },
        description: 'Sub-predicates of and/or/not',
      },
      ignore_case: { type: 'boolean' },
    },
    required: ['op'],
  };
}

function matchJsonSchema(): JsonSchema {
  return {
    description: 'Rule match: absent, any string, {} or {match: "*"} match everything; else a json-predicate',
    anyOf: [
      { type: 'string' },
      { type: 'object', properties: { match: { const: '*' } }, required: ['match'] },
      { type: 'object', maxProperties: 0 },
      { $ref: `#/$defs/${PREDICATE_DEF}` },
    ],
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** True for the `z.preprocess(toProxySpelling, ...)` pipes that accept both protocol spellings. */
function acceptsBothSpellings(schema: z.core.$ZodType): boolean {
  const def = schema._zod.def;
  if (def.type !== 'pipe') return false;
  const inner = (def as z.core.$ZodPipeDef).in._zod.def;
  return inner.type === 'transform' && (inner as z.core.$ZodTransformDef).transform === toProxySpelling;
}

/**
 * Adds the CRD spelling `{UDP: {port: 9001}}` next to each proxy-spelling variant
 * `{protocol: UDP, port: 9001}` of a protocol union, since the parser accepts both.
 */
function addCrdSpellings(jsonSchema: JsonSchema): void {
  const variants = jsonSchema.oneOf;
  if (!Array.isArray(variants)) return;
  const crdVariants: JsonSchema[] = [];
  for (const variant of variants) {
    if (!isRecord(variant) || !isRecord(variant.properties)) continue;
    const { protocol, ...rest } = variant.properties;
    if (!isRecord(protocol) || typeof protocol.const !== 'string') continue;
    const required = Array.isArray(variant.required) ? variant.required.filter((k) => k !== 'protocol') : [];
    const inner: JsonSchema = {
      type: 'object',
      properties: rest,
      ...(required.length > 0 ? { required } : {}),
    };
    crdVariants.push({
      type: 'object',
      properties: { [protocol.const]: required.length > 0 ? inner : { anyOf: [inner, { type: 'null' }] } },
      required: [protocol.const],
      additionalProperties: false,
    });
  }
  jsonSchema.oneOf = [...variants, ...crdVariants];
}

/**
 * Objects that are embedded in many places (a cluster in every route, a route in every rule)
 * get a name, so the generated schema defines each once in `$defs` and refers to it, instead
 * of repeating it wherever it may appear.
 */
const SHARED_SCHEMAS: [z.ZodType, string][] = [
  [ListenerSchema, 'Listener'],
  [ClusterSchema, 'Cluster'],
  [EndpointSchema, 'EndPoint'],
  [RouteSchema, 'Route'],
  [RuleSchema, 'Rule'],
  [RuleListSchema, 'RuleList'],
  [RetrySchema, 'Retry'],
  [LoadBalancerSchema, 'LoadBalancer'],
  [AdminSchema, 'Admin'],
  [ListenerSpec, 'ListenerSpec'],
  [ClusterSpec, 'ClusterSpec'],
];

let sharedNamed = false;

function nameSharedSchemas(): void {
  if (sharedNamed) return;
  sharedNamed = true;
  for (const [schema, id] of SHARED_SCHEMAS) {
    // Keep what .describe() stored; add the id the generator names definitions by.
    z.globalRegistry.add(schema, { ...(z.globalRegistry.get(schema) ?? {}), id });
  }
}

/**
 * The JSON Schema (draft 2020-12) of what a zod schema of this package accepts as input:
 * defaults are optional, both protocol spellings are allowed and rule matches are described as
 * json-predicates. Cross-field rules (a route needs a destination ...) are not expressible and
 * are checked by the parser only.
 */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  nameSharedSchemas();
  let usesPredicate = false;
  const generated = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const json = ctx.jsonSchema as JsonSchema;
      if (ctx.zodSchema === MatchSchema) {
        for (const key of Object.keys(json)) delete json[key];
        Object.assign(json, matchJsonSchema());
        usesPredicate = true;
      } else if (acceptsBothSpellings(ctx.zodSchema)) {
        addCrdSpellings(json);
      }
    },
  }) as JsonSchema;
  if (usesPredicate) {
    const defs = isRecord(generated.$defs) ? generated.$defs : {};
    generated.$defs = { ...defs, [PREDICATE_DEF]: predicateJsonSchema() };
  }
  return generated;
}

/** The JSON Schema of a static proxy config file (and of a `PUT /api/v1/config` body). */
export function configJsonSchema(): JsonSchema {
  const { $schema, ...rest } = inputJsonSchema(ConfigSchema);
  return {
    $schema,
    $id: CONFIG_JSON_SCHEMA_ID,
    title: 'l7mp proxy configuration',
    description:
      'Static configuration of an l7mp proxy: admin settings and listeners, clusters, rulelists, rules and routes',
    ...rest,
  };
}

/** Writes configJsonSchema() to `file` as indented JSON (for the docs build and editors). */
export async function writeConfigJsonSchema(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(configJsonSchema(), null, 2)}\n`, 'utf8');
}
