/**
 * Metadata paths (anchor §4.2): `/IP/src_addr`, `IP/src_addr`, `IP/src_addr/` and `/a/0/b` all
 * name the same kind of place; `''` and `'/'` name the root. Used by rewrites, load-balancer
 * keys, Sync labels, JSONSocket headers and predicates.
 *
 * Deliberate differences from the anchor: empty segments are skipped everywhere (the anchor's
 * getter stopped at the first one, its setter kept them), so `a//b` means `a/b` for both reads
 * and writes; and only own properties are read or written, so `constructor` or `__proto__` in a
 * path can neither read nor change an object's prototype.
 */

/** Splits a path into its non-empty segments; `[]` is the root. */
export function splitPath(path: string): readonly string[] {
  const segments: string[] = [];
  for (const segment of path.split('/')) if (segment !== '') segments.push(segment);
  return segments;
}

function isContainer(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function walk(data: unknown, segments: readonly string[]): unknown {
  let current = data;
  for (let i = 0; i < segments.length; i++) {
    if (!isContainer(current)) return undefined;
    const key = segments[i] as string;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** The value at `path` in `data`, or undefined when any part of the path is missing. */
export function getAtPath(data: unknown, path: string): unknown {
  return walk(data, splitPath(path));
}

/** Pre-splits `path` once; the returned reader does no string work per call. */
export function compilePath(path: string): (data: unknown) => unknown {
  const segments = splitPath(path);
  if (segments.length === 0) return (data) => data;
  if (segments.length === 1) {
    const key = segments[0] as string;
    return (data) =>
      isContainer(data) && Object.prototype.hasOwnProperty.call(data, key) ? data[key] : undefined;
  }
  return (data) => walk(data, segments);
}

/** A deep copy of JSON-like data (plain objects and arrays); other objects are shared. */
export function cloneValue<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => cloneValue(item)) as T;
  if (!isContainer(value)) return value;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) assignOwn(copy, key, cloneValue(value[key]));
  return copy as T;
}

/** `target[key] = value` that creates an own property even for `__proto__`. */
function assignOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/**
 * Sets `value` (deep-copied) at `path` in `data`, creating missing or non-object intermediates as
 * `{}`, and returns the mutated `data`. For the root path it returns a deep copy of `value`
 * (the caller replaces the root). If `data` is not an object a new root object is created and
 * returned.
 */
export function setAtPath(data: unknown, path: string, value: unknown): unknown {
  const segments = splitPath(path);
  if (segments.length === 0) return cloneValue(value);
  const root: Record<string, unknown> = isContainer(data) ? data : {};
  let current = root;
  const last = segments.length - 1;
  for (let i = 0; i < last; i++) {
    const key = segments[i] as string;
    const next = Object.prototype.hasOwnProperty.call(current, key) ? current[key] : undefined;
    if (isContainer(next)) {
      current = next;
    } else {
      const created: Record<string, unknown> = {};
      assignOwn(current, key, created);
      current = created;
    }
  }
  assignOwn(current, segments[last] as string, cloneValue(value));
  return root;
}
