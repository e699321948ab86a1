import { z } from 'zod';
import { describeValue } from './primitives';

/**
 * The match language of rules: the json-predicate subset of anchor §4.1. Predicates are checked
 * when a rule is added, so a typo is an error instead of a rule that silently never matches.
 */
export const FIRST_ORDER_OPS = [
  'contains',
  'defined',
  'undefined',
  'starts',
  'ends',
  'less',
  'more',
  'in',
  'test',
  'matches',
  'type',
  'contained',
  'intersects',
] as const;
export const SECOND_ORDER_OPS = ['and', 'or', 'not'] as const;
export type PredicateOp = (typeof FIRST_ORDER_OPS)[number] | (typeof SECOND_ORDER_OPS)[number];

export interface Predicate {
  op: PredicateOp;
  path?: string;
  value?: unknown;
  apply?: Predicate[];
  ignore_case?: boolean;
}

const ALL_OPS = new Set<string>([...FIRST_ORDER_OPS, ...SECOND_ORDER_OPS]);

type Issue = { path: (string | number)[]; message: string };

/** Returns every problem of a predicate, with paths relative to the predicate. */
export function checkPredicate(input: unknown, at: (string | number)[] = []): Issue[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return [
      { path: at, message: `expected a predicate object {op, path, value}, got ${describeValue(input)}` },
    ];
  }
  const p = input as Record<string, unknown>;
  const issues: Issue[] = [];
  const op = p.op;
  if (typeof op !== 'string' || !ALL_OPS.has(op)) {
    issues.push({
      path: [...at, 'op'],
      message: `unknown predicate op ${describeValue(op)}, expected one of ${[...ALL_OPS].join(', ')}`,
    });
    return issues;
  }
  if (p.path !== undefined && typeof p.path !== 'string') {
    issues.push({ path: [...at, 'path'], message: `expected a path string, got ${describeValue(p.path)}` });
  }
  if (p.ignore_case !== undefined && typeof p.ignore_case !== 'boolean') {
    issues.push({
      path: [...at, 'ignore_case'],
      message: `expected a boolean, got ${describeValue(p.ignore_case)}`,
    });
  }
  if ((SECOND_ORDER_OPS as readonly string[]).includes(op)) {
    if (!Array.isArray(p.apply)) {
      issues.push({
        path: [...at, 'apply'],
        message: `"${op}" needs "apply": a list of predicates, got ${describeValue(p.apply)}`,
      });
    } else {
      p.apply.forEach((sub, i) => issues.push(...checkPredicate(sub, [...at, 'apply', i])));
    }
    return issues;
  }
  if (typeof p.path !== 'string') {
    if (p.path === undefined) issues.push({ path: [...at, 'path'], message: `"${op}" needs a "path"` });
    return issues;
  }
  const needsValue = op !== 'defined' && op !== 'undefined';
  if (needsValue && !('value' in p)) {
    issues.push({ path: [...at, 'value'], message: `"${op}" needs a "value"` });
    return issues;
  }
  const value = p.value;
  const valueIssue = (message: string) => issues.push({ path: [...at, 'value'], message });
  switch (op) {
    case 'less':
    case 'more':
      if (typeof value !== 'number') valueIssue(`"${op}" needs a number, got ${describeValue(value)}`);
      break;
    case 'in':
    case 'intersects':
      if (!Array.isArray(value)) valueIssue(`"${op}" needs an array, got ${describeValue(value)}`);
      break;
    case 'starts':
    case 'ends':
      if (typeof value !== 'string') valueIssue(`"${op}" needs a string, got ${describeValue(value)}`);
      break;
    case 'contains':
      if (
        typeof value !== 'string' &&
        typeof value !== 'number' &&
        typeof value !== 'boolean' &&
        value !== null
      ) {
        if (typeof value !== 'object') valueIssue(`"contains" needs a value, got ${describeValue(value)}`);
      }
      break;
    case 'matches':
      if (typeof value !== 'string') {
        valueIssue(`"matches" needs a regular expression string, got ${describeValue(value)}`);
      } else {
        try {
          new RegExp(value);
        } catch (e) {
          valueIssue(`invalid regular expression ${describeValue(value)}: ${(e as Error).message}`);
        }
      }
      break;
    case 'type':
      if (typeof value !== 'string')
        valueIssue(`"type" needs a type name string, got ${describeValue(value)}`);
      break;
    default:
      break;
  }
  return issues;
}

/** The shape of a predicate, for documentation (JSON Schema); validation is done by checkPredicate. */
export const PredicateShape = z.object({
  op: z.enum([...FIRST_ORDER_OPS, ...SECOND_ORDER_OPS]),
  path: z.string().optional(),
  value: z.unknown().optional(),
  apply: z.array(z.looseObject({})).optional(),
  ignore_case: z.boolean().optional(),
});

/** A json-predicate, validated as a whole (ops, nested `apply`, argument types). */
export const PredicateSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    for (const issue of checkPredicate(value)) {
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, input: value });
    }
  })
  .transform((value) => value as Predicate);

/** The wildcard predicate as dumps show it (anchor §1.7): `match: {match: '*'}`. */
export const WILDCARD_MATCH = { match: '*' } as const;

/**
 * A rule's `match`: absent, any string, or `{match: '*'}` mean "everything"; an object is a
 * json-predicate. Normalised to `undefined` for the wildcard.
 */
export const MatchSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    if (isWildcard(value)) return;
    for (const issue of checkPredicate(value)) {
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, input: value });
    }
  })
  .transform((value): Predicate | undefined => (isWildcard(value) ? undefined : (value as Predicate)));

export function isWildcard(value: unknown): boolean {
  if (value === undefined || value === null || typeof value === 'string') return true;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    return keys.length === 0 || (keys.length === 1 && (value as Record<string, unknown>).match === '*');
  }
  return false;
}
