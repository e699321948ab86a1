import { describe, expect, it } from '@jest/globals';
import { cloneValue, compilePath, getAtPath, setAtPath, splitPath } from '../src/rules/path';

const data = () => ({
  listener: { name: 'l', rules: [{ action: { route: 'r1' } }, 'named-rule'] },
  IP: { src_addr: '127.0.0.1' },
  text: 'leaf',
});

describe('getAtPath', () => {
  it('returns the whole object for the root paths', () => {
    const d = data();
    expect(getAtPath(d, '/')).toBe(d);
    expect(getAtPath(d, '')).toBe(d);
  });

  it.each(['/listener', 'listener', 'listener/', '/listener/'])('accepts the path variant %s', (path) => {
    expect(getAtPath(data(), path)).toEqual(data().listener);
  });

  it('walks array indexes and returns object, array and string leaves', () => {
    expect(getAtPath(data(), '/listener/rules/0/action')).toEqual({ route: 'r1' });
    expect(getAtPath(data(), '/listener/rules')).toHaveLength(2);
    expect(getAtPath(data(), 'listener/rules/1')).toBe('named-rule');
    expect(getAtPath(data(), '/text')).toBe('leaf');
  });

  it('returns undefined for missing parts and for walks through leaves', () => {
    expect(getAtPath(data(), '/nope/deeper')).toBeUndefined();
    expect(getAtPath(data(), '/text/0')).toBeUndefined();
    expect(getAtPath(undefined, '/a')).toBeUndefined();
    expect(getAtPath(null, '/a')).toBeUndefined();
  });

  it('never reads inherited properties such as constructor or __proto__', () => {
    expect(getAtPath({}, '/constructor')).toBeUndefined();
    expect(getAtPath({ a: {} }, '/a/__proto__')).toBeUndefined();
  });

  it('skips empty segments (a//b is a/b)', () => {
    expect(splitPath('/a//b/')).toEqual(['a', 'b']);
    expect(getAtPath({ a: { b: 1 } }, 'a//b')).toBe(1);
  });
});

describe('compilePath', () => {
  it('reads the same values as getAtPath for every shape of path', () => {
    for (const path of ['', '/', '/IP', 'IP/src_addr', '/listener/rules/0/action/route', '/missing/x']) {
      expect(compilePath(path)(data())).toEqual(getAtPath(data(), path));
    }
  });

  it('returns undefined for non-object data', () => {
    expect(compilePath('/a')(42)).toBeUndefined();
    expect(compilePath('/a/b')('str')).toBeUndefined();
  });
});

describe('setAtPath', () => {
  it.each(['/IP/src_addr', 'IP/src_addr', 'IP/src_addr/', '/IP/src_addr/'])(
    'sets at the path variant %s',
    (path) => {
      const d = data();
      const result = setAtPath(d, path, '10.0.0.1');
      expect(result).toBe(d);
      expect(d.IP.src_addr).toBe('10.0.0.1');
    },
  );

  it('returns a deep copy of the value for the root path', () => {
    const value = { a: { b: [1, 2] } };
    const result = setAtPath(data(), '/', value) as typeof value;
    expect(result).toEqual(value);
    expect(result).not.toBe(value);
    expect(result.a).not.toBe(value.a);
    expect(setAtPath(data(), '', 'x')).toBe('x');
  });

  it('creates missing intermediates and deep-copies object values', () => {
    const d: Record<string, unknown> = {};
    const value = { nested: { deep: true } };
    setAtPath(d, 'HTTP/headers', value);
    expect(d).toEqual({ HTTP: { headers: { nested: { deep: true } } } });
    value.nested.deep = false;
    expect((d.HTTP as { headers: typeof value }).headers.nested.deep).toBe(true);
  });

  it('uses numeric segments as array indexes', () => {
    const d = data();
    setAtPath(d, '/listener/rules/1', 'other');
    expect(d.listener.rules[1]).toBe('other');
  });

  it('replaces a leaf intermediate with an object and creates a root for non-object data', () => {
    const d: Record<string, unknown> = { text: 'leaf' };
    setAtPath(d, '/text/inner', 1);
    expect(d).toEqual({ text: { inner: 1 } });
    expect(setAtPath(undefined, '/a/b', 2)).toEqual({ a: { b: 2 } });
  });

  it('cannot change a prototype through __proto__', () => {
    const d: Record<string, unknown> = {};
    setAtPath(d, '/__proto__/polluted', true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(d)).toBe(Object.prototype);
    expect(getAtPath(d, '/__proto__/polluted')).toBe(true);
  });

  it('clones only plain data and shares other objects', () => {
    const buffer = Buffer.from('x');
    const copy = cloneValue({ buffer, list: [{ a: 1 }] });
    expect(copy.buffer).toBe(buffer);
    expect(copy.list).toEqual([{ a: 1 }]);
  });
});
