import type { ObjectPath } from '../errors';
import { isPlainObject } from './hints';
import type { JSONSchemaProps } from './openapi';

const JUNCTORS = ['allOf', 'anyOf', 'oneOf', 'not'] as const;
// Inside a junctor only value validations are allowed (Kubernetes structural schema rules).
const FORBIDDEN_IN_JUNCTORS = ['type', 'description', 'default', 'additionalProperties', 'nullable', '$ref'];

const preservesUnknown = (node: JSONSchemaProps) => node['x-kubernetes-preserve-unknown-fields'] === true;

function junctorBranches(node: JSONSchemaProps): [string, JSONSchemaProps][] {
  const out: [string, JSONSchemaProps][] = [];
  for (const junctor of JUNCTORS) {
    const value = node[junctor];
    if (value === undefined) continue;
    if (Array.isArray(value)) value.forEach((b, i) => out.push([`${junctor}[${i}]`, b]));
    else out.push([junctor, value]);
  }
  return out;
}

function checkJunctor(
  branch: JSONSchemaProps,
  outer: JSONSchemaProps,
  where: string,
  problems: string[],
): void {
  const record = branch as Record<string, unknown>;
  for (const key of FORBIDDEN_IN_JUNCTORS) {
    if (key in record) problems.push(`${where}: "${key}" is not allowed inside allOf/anyOf/oneOf/not`);
  }
  for (const key of Object.keys(branch.properties ?? {})) {
    if (outer.properties?.[key] === undefined) {
      problems.push(`${where}: property "${key}" is not specified outside the junctor`);
    }
  }
  for (const [name, nested] of junctorBranches(branch))
    checkJunctor(nested, outer, `${where}.${name}`, problems);
}

function checkNode(node: JSONSchemaProps, where: string, problems: string[]): void {
  const record = node as Record<string, unknown>;
  if ('$ref' in record) problems.push(`${where}: $ref is not allowed`);
  if (node.type === undefined && !preservesUnknown(node) && record['x-kubernetes-int-or-string'] !== true) {
    problems.push(`${where}: has no type (and does not preserve unknown fields)`);
  }
  if ((node.properties !== undefined || node.additionalProperties !== undefined) && node.type !== 'object') {
    problems.push(`${where}: properties on a node of type ${node.type ?? 'none'}`);
  }
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    problems.push(`${where}: both properties and additionalProperties`);
  }
  if (node.type === 'array' && node.items === undefined) problems.push(`${where}: array without items`);
  if (node.items !== undefined && node.type !== 'array') problems.push(`${where}: items on a non-array`);
  for (const [key, child] of Object.entries(node.properties ?? {}))
    checkNode(child, `${where}.properties.${key}`, problems);
  if (node.additionalProperties !== undefined) {
    checkNode(node.additionalProperties, `${where}.additionalProperties`, problems);
  }
  if (node.items !== undefined) checkNode(node.items, `${where}.items`, problems);
  for (const [name, branch] of junctorBranches(node))
    checkJunctor(branch, node, `${where}.${name}`, problems);
}

/**
 * Lists every way a CRD schema breaks the Kubernetes structural schema rules (an empty list:
 * the API server accepts it): a type on every node unless it preserves unknown fields, no $ref,
 * properties only on objects, items on arrays, junctors with value validations only, and
 * nothing but name/generateName under metadata.
 */
export function structuralSchemaViolations(root: JSONSchemaProps, where = 'openAPIV3Schema'): string[] {
  const problems: string[] = [];
  if (root.type !== 'object') problems.push(`${where}: the root must be of type object`);
  const metadata = root.properties?.metadata;
  if (metadata !== undefined) {
    const extra = Object.keys(metadata.properties ?? {}).filter((k) => k !== 'name' && k !== 'generateName');
    if (extra.length > 0)
      problems.push(`${where}.properties.metadata: only name and generateName may be specified`);
  }
  checkNode(root, where, problems);
  return problems;
}

function collectPruned(value: unknown, node: JSONSchemaProps, path: ObjectPath, out: ObjectPath[]): void {
  if (Array.isArray(value)) {
    if (node.items !== undefined)
      value.forEach((item, i) => collectPruned(item, node.items as JSONSchemaProps, [...path, i], out));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const childSchema = node.properties?.[key] ?? node.additionalProperties;
    if (childSchema !== undefined) collectPruned(child, childSchema, [...path, key], out);
    else if (!preservesUnknown(node)) out.push([...path, key]);
  }
}

/**
 * The fields of a manifest the API server would drop when storing it under this CRD schema:
 * every key an object node neither specifies nor preserves. `metadata` is left to the API
 * server's own ObjectMeta handling, as it is there.
 */
export function prunedFields(manifest: unknown, root: JSONSchemaProps): ObjectPath[] {
  const out: ObjectPath[] = [];
  if (!isPlainObject(manifest)) return out;
  for (const [key, child] of Object.entries(manifest)) {
    if (key === 'metadata') continue;
    const childSchema = root.properties?.[key];
    if (childSchema !== undefined) collectPruned(child, childSchema, [key], out);
    else if (!preservesUnknown(root)) out.push([key]);
  }
  return out;
}
