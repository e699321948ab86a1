import { z } from 'zod';
import { crdHintOf, type KeyConstraint } from './hints';

/** The subset of the Kubernetes JSONSchemaProps used by the generated CRDs. */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  enum?: (string | number | boolean)[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** Any JSON value, kept as written (e.g. a json-predicate or a rewrite value). */
const ANY_VALUE: JSONSchemaProps = { 'x-kubernetes-preserve-unknown-fields': true };

// Kubernetes-only spelling aliases of protocol keys (anchor CRD typo); accepted by toProxySpelling.
const PROTOCOL_KEY_ALIASES: Record<string, string> = { Stdio: 'Sdtio' };
// Protocols for the proxy's own tests; not part of the CRD.
const INTERNAL_PROTOCOLS = new Set(['Test']);

const isUnknownType = (schema: z.ZodType) => {
  const type = schema._zod.def.type;
  return type === 'unknown' || type === 'any';
};

function renderKeyConstraint(constraint: KeyConstraint): JSONSchemaProps {
  const requireEach = constraint.keys.map((k) => ({ required: [k] }));
  switch (constraint.rule) {
    case 'exactlyOne':
      return { oneOf: requireEach };
    case 'atLeastOne':
      return { anyOf: requireEach };
    case 'atMostOne': {
      const pairs: JSONSchemaProps[] = [];
      constraint.keys.forEach((a, i) =>
        constraint.keys.slice(i + 1).forEach((b) => pairs.push({ required: [a, b] })),
      );
      return pairs.length === 1 && pairs[0] !== undefined ? { not: pairs[0] } : { not: { anyOf: pairs } };
    }
  }
}

function withConstraints(node: JSONSchemaProps, constraints: readonly KeyConstraint[]): JSONSchemaProps {
  const rendered = constraints.map(renderKeyConstraint);
  if (rendered.length === 0) return node;
  if (rendered.length === 1) return { ...node, ...rendered[0] };
  return { ...node, allOf: rendered };
}

function renderObject(schema: z.ZodObject, omit: ReadonlySet<string> = new Set()): JSONSchemaProps {
  const properties: Record<string, JSONSchemaProps> = {};
  const required: string[] = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    if (omit.has(key)) continue;
    const fieldSchema = field as z.ZodType;
    properties[key] = toStructuralSchema(fieldSchema);
    if (fieldSchema._zod.optin === undefined) required.push(key);
  }
  let node: JSONSchemaProps = { type: 'object' };
  if (Object.keys(properties).length > 0) node.properties = properties;
  if (required.length > 0) node.required = required;
  const catchall = schema._zod.def.catchall as z.ZodType | undefined;
  if (catchall !== undefined && isUnknownType(catchall)) node['x-kubernetes-preserve-unknown-fields'] = true;
  const constraints = crdHintOf(schema)?.keyConstraints;
  if (constraints !== undefined) node = withConstraints(node, constraints);
  return node;
}

/** `{protocol: 'UDP', port}` options rendered in the CRD spelling: one property per protocol. */
function renderProtocolUnion(options: readonly z.ZodType[]): JSONSchemaProps {
  const properties: Record<string, JSONSchemaProps> = {};
  for (const option of options) {
    if (!(option instanceof z.ZodObject)) throw new Error('protocol spec options must be objects');
    const literal = option.shape.protocol as z.ZodLiteral | undefined;
    const protocol = literal?._zod.def.values[0];
    if (typeof protocol !== 'string') throw new Error('protocol spec option without a protocol literal');
    if (INTERNAL_PROTOCOLS.has(protocol)) continue;
    const rendered = renderObject(option, new Set(['protocol']));
    properties[protocol] = rendered;
    const alias = PROTOCOL_KEY_ALIASES[protocol];
    if (alias !== undefined) {
      properties[alias] = {
        ...rendered,
        description: `Misspelling of ${protocol}, accepted for compatibility`,
      };
    }
  }
  return { type: 'object', properties, minProperties: 1, maxProperties: 1 };
}

function mergeObjectBranches(branches: JSONSchemaProps[]): JSONSchemaProps {
  const properties: Record<string, JSONSchemaProps> = {};
  for (const branch of branches) {
    for (const [key, value] of Object.entries(branch.properties ?? {})) {
      const seen = properties[key];
      properties[key] =
        seen === undefined || JSON.stringify(seen) === JSON.stringify(value) ? value : ANY_VALUE;
    }
  }
  return { type: 'object', properties };
}

function renderUnion(def: z.core.$ZodUnionDef): JSONSchemaProps {
  const discriminator = (def as { discriminator?: string }).discriminator;
  const options = def.options as readonly z.ZodType[];
  if (discriminator === 'protocol') return renderProtocolUnion(options);
  const branches = options.map(toStructuralSchema);
  if (branches.every((b) => b.type === 'object')) return mergeObjectBranches(branches);
  // Structural schemas cannot say "a string or an object": keep the value as written.
  return ANY_VALUE;
}

function renderNumber(schema: z.ZodNumber): JSONSchemaProps {
  const node: JSONSchemaProps = { type: schema.isInt ? 'integer' : 'number' };
  const bounded = (v: number | null) =>
    v !== null && Number.isFinite(v) && Math.abs(v) < Number.MAX_SAFE_INTEGER;
  if (bounded(schema.minValue)) node.minimum = schema.minValue as number;
  if (bounded(schema.maxValue)) node.maximum = schema.maxValue as number;
  return node;
}

function renderString(schema: z.ZodString): JSONSchemaProps {
  const node: JSONSchemaProps = { type: 'string' };
  if (schema.minLength !== null && schema.minLength > 0) node.minLength = schema.minLength;
  if (schema.maxLength !== null) node.maxLength = schema.maxLength;
  return node;
}

function renderLiteral(values: readonly unknown[]): JSONSchemaProps {
  const first = values[0];
  const type = typeof first === 'number' ? 'number' : typeof first === 'boolean' ? 'boolean' : 'string';
  return { type, enum: values.filter((v): v is string | number | boolean => typeof v !== 'object') };
}

function renderNode(schema: z.ZodType): JSONSchemaProps {
  const hint = crdHintOf(schema);
  if (hint?.renderAs !== undefined) return toStructuralSchema(hint.renderAs);
  const def = schema._zod.def;
  switch (def.type) {
    case 'string':
      return renderString(schema as z.ZodString);
    case 'number':
      return renderNumber(schema as z.ZodNumber);
    case 'boolean':
      return { type: 'boolean' };
    case 'enum':
      return { type: 'string', enum: Object.values((def as z.core.$ZodEnumDef).entries) as string[] };
    case 'literal':
      return renderLiteral((def as z.core.$ZodLiteralDef<z.core.util.Literal>).values);
    case 'object':
      return renderObject(schema as z.ZodObject);
    case 'array':
      return { type: 'array', items: toStructuralSchema((def as z.core.$ZodArrayDef).element as z.ZodType) };
    case 'record': {
      const valueType = (def as z.core.$ZodRecordDef).valueType as z.ZodType;
      if (isUnknownType(valueType)) return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      return { type: 'object', additionalProperties: toStructuralSchema(valueType) };
    }
    case 'union':
      return renderUnion(def as z.core.$ZodUnionDef);
    case 'optional':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
    case 'prefault':
      return toStructuralSchema((def as z.core.$ZodOptionalDef).innerType as z.ZodType);
    case 'nullable':
      return {
        ...toStructuralSchema((def as z.core.$ZodNullableDef).innerType as z.ZodType),
        nullable: true,
      };
    case 'default': {
      const inner = toStructuralSchema((def as z.core.$ZodDefaultDef).innerType as z.ZodType);
      const value: unknown = (def as z.core.$ZodDefaultDef).defaultValue;
      return typeof value === 'object' ? inner : { ...inner, default: value };
    }
    case 'pipe': {
      // z.preprocess(fn, s) is a pipe from a transform: its shape is the output's. Otherwise
      // what the user writes is the input side.
      const pipe = def as z.core.$ZodPipeDef;
      const input = pipe.in as z.ZodType;
      return toStructuralSchema(input._zod.def.type === 'transform' ? (pipe.out as z.ZodType) : input);
    }
    case 'lazy':
      return toStructuralSchema((def as z.core.$ZodLazyDef).getter() as z.ZodType);
    case 'unknown':
    case 'any':
    case 'transform':
    case 'custom':
      return ANY_VALUE;
    default:
      throw new Error(`cannot render a zod "${def.type}" node as a CRD schema`);
  }
}

/**
 * Renders a zod schema as a Kubernetes structural schema: every node typed (or marked
 * x-kubernetes-preserve-unknown-fields), no $ref, unions merged into one skeleton, and
 * "exactly one of" rules as value validations that only use `required`.
 */
export function toStructuralSchema(schema: z.ZodType): JSONSchemaProps {
  const node = renderNode(schema);
  const description = z.globalRegistry.get(schema)?.description;
  if (description === undefined) return node;
  // The outermost description is the one written for this place (e.g. on an optional field).
  const { description: _inner, ...rest } = node;
  return { description, ...rest };
}
