import type { Predicate } from '@l7mp/config';
import type { SessionMetadata } from '../transport/types';
import { compilePath } from './path';

/**
 * The rule match language (anchor §4.1, json-predicate): compiled once into a closure tree so a
 * session lookup neither re-splits paths nor re-parses regular expressions.
 *
 * Deliberate fix: the anchor dropped the first path segment because it expected a leading `/`,
 * so `a/b` silently meant `b`. Here `/a/b` and `a/b` both mean `a.b` (the same path rules as
 * rewrites, see ./path.ts).
 *
 * A predicate the config schema would reject (unknown op, missing apply, bad regex) compiles to
 * "never matches" instead of throwing, so a bad rule cannot break a listener.
 */
export type CompiledPredicate = (metadata: SessionMetadata) => boolean;
type Test = (data: unknown) => boolean;

const NEVER: Test = () => false;

export function compilePredicate(predicate: Predicate | undefined): CompiledPredicate {
  if (predicate === undefined) return () => true;
  const test = compile(predicate);
  return (metadata) => test(metadata);
}

function compile(predicate: Predicate): Test {
  if (predicate === null || typeof predicate !== 'object') return NEVER;
  switch (predicate.op) {
    case 'and':
    case 'or':
    case 'not':
      return compileSecondOrder(predicate);
    default:
      return compileFirstOrder(predicate);
  }
}

function compileSecondOrder(predicate: Predicate): Test {
  if (!Array.isArray(predicate.apply)) return NEVER;
  const children = predicate.apply.map(compile);
  const reroot = predicate.path !== undefined ? compilePath(predicate.path) : undefined;
  let test: Test;
  switch (predicate.op) {
    case 'and':
      test = (data) => children.every((child) => child(data));
      break;
    case 'or':
      // json-predicate: an `or` without sub-predicates is true.
      test = children.length === 0 ? () => true : (data) => children.some((child) => child(data));
      break;
    default:
      // `not` is NOR: true when none of the sub-predicates holds.
      test = (data) => !children.some((child) => child(data));
  }
  return reroot === undefined ? test : (data) => test(reroot(data));
}

function compileFirstOrder(predicate: Predicate): Test {
  if (typeof predicate.path !== 'string') return NEVER;
  const read = compilePath(predicate.path);
  const ignoreCase = predicate.ignore_case === true;
  const fold = ignoreCase ? foldCase : (value: unknown) => value;
  const expected = fold(predicate.value);
  const check = firstOrderCheck(predicate.op, expected, predicate.value, ignoreCase);
  if (check === undefined) return NEVER;
  return ignoreCase ? (data) => check(foldCase(read(data))) : (data) => check(read(data));
}

/** Returns the test of one value under test, or undefined for an unusable predicate. */
function firstOrderCheck(
  op: string,
  expected: unknown,
  rawValue: unknown,
  ignoreCase: boolean,
): ((actual: unknown) => boolean) | undefined {
  switch (op) {
    case 'defined':
      return (actual) => actual !== undefined;
    case 'undefined':
      return (actual) => actual === undefined;
    case 'contains':
      return (actual) => {
        if (typeof actual === 'string') return typeof expected === 'string' && actual.includes(expected);
        if (Array.isArray(actual)) return actual.some((item) => deepEqual(item, expected));
        return false;
      };
    case 'starts':
      if (typeof expected !== 'string') return undefined;
      return (actual) => typeof actual === 'string' && actual.startsWith(expected);
    case 'ends':
      if (typeof expected !== 'string') return undefined;
      return (actual) => typeof actual === 'string' && actual.endsWith(expected);
    case 'less':
      if (typeof expected !== 'number') return undefined;
      return (actual) => typeof actual === 'number' && actual < expected;
    case 'more':
      if (typeof expected !== 'number') return undefined;
      return (actual) => typeof actual === 'number' && actual > expected;
    case 'in':
      if (!Array.isArray(expected)) return undefined;
      return (actual) => expected.some((item) => deepEqual(actual, item));
    case 'test':
      return (actual) => deepEqual(actual, expected);
    case 'matches': {
      const regex = compileRegex(rawValue, ignoreCase);
      if (regex === undefined) return undefined;
      return (actual) => typeof actual === 'string' && regex.test(actual);
    }
    case 'type':
      if (typeof rawValue !== 'string') return undefined;
      return typeCheck(rawValue);
    case 'contained':
      return (actual) => Array.isArray(actual) && actual.some((item) => deepEqual(item, expected));
    case 'intersects':
      if (!Array.isArray(expected)) return undefined;
      return (actual) =>
        Array.isArray(actual) && actual.some((item) => expected.some((other) => deepEqual(item, other)));
    default:
      return undefined;
  }
}

function compileRegex(source: unknown, ignoreCase: boolean): RegExp | undefined {
  if (typeof source !== 'string') return undefined;
  try {
    // The value under test is lower-cased already with ignore_case; the flag covers the pattern.
    return new RegExp(source, ignoreCase ? 'i' : '');
  } catch {
    return undefined;
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{2}:\d{2}:\d{2}(\.\d+)?([zZ]|[+-]\d{2}:\d{2})?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[tT ]\d{2}:\d{2}:\d{2}(\.\d+)?([zZ]|[+-]\d{2}:\d{2})$/;
const LANG = /^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$/;
const LANG_RANGE = /^(\*|[a-zA-Z]{1,8})(-(\*|[a-zA-Z0-9]{1,8}))*$/;
const IRI = /^[^\s<>"{}|\\^`]*$/u;
const ABSOLUTE_IRI = /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>"{}|\\^`]*$/u;

function matchesString(regex: RegExp): (actual: unknown) => boolean {
  return (actual) => typeof actual === 'string' && regex.test(actual);
}

function typeCheck(name: string): (actual: unknown) => boolean {
  switch (name) {
    case 'array':
      return (actual) => Array.isArray(actual);
    case 'null':
      return (actual) => actual === null;
    case 'date':
      return matchesString(DATE);
    case 'time':
      return matchesString(TIME);
    case 'date-time':
      return matchesString(DATE_TIME);
    case 'lang':
      return matchesString(LANG);
    case 'lang-range':
      return matchesString(LANG_RANGE);
    case 'iri':
      return matchesString(IRI);
    case 'absolute-iri':
      return matchesString(ABSOLUTE_IRI);
    default:
      return (actual) => typeof actual === name;
  }
}

/** Lower-cases strings, also inside arrays and objects (ignore_case applies to whole values). */
function foldCase(value: unknown): unknown {
  if (typeof value === 'string') return value.toLowerCase();
  if (Array.isArray(value)) return value.map(foldCase);
  if (value !== null && typeof value === 'object') {
    const folded: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) folded[key] = foldCase(item);
    return folded;
  }
  return value;
}

/** Structural equality of JSON-like values (the anchor used lodash isEqual). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const keys = Object.keys(aRecord);
  if (keys.length !== Object.keys(bRecord).length) return false;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(bRecord, key)) return false;
    if (!deepEqual(aRecord[key], bRecord[key])) return false;
  }
  return true;
}
