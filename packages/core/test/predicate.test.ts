import { describe, expect, it } from '@jest/globals';
import type { Predicate } from '@l7mp/config';
import { compilePredicate, deepEqual } from '../src/rules/predicate';

const metadata = {
  name: 'UDP:127.0.0.1:4000-0.0.0.0:9001-0',
  IP: { src_addr: '127.0.0.1', dst_addr: '10.0.0.1' },
  UDP: { src_port: 4000 },
  HTTP: { url: { path: '/metrics/all' }, method: 'GET', headers: { Host: 'Example.COM' } },
  a: { b: 1, c: { d: 10 } },
  tags: ['red', 'green', { x: 1 }],
  nothing: null,
  when: { date: '2024-05-01', time: '12:30:00Z', dt: '2024-05-01T12:30:00.5+02:00' },
  lang: 'en-US',
  iri: 'https://example.com/x?y=1',
};

const test = (predicate: Predicate | undefined) => compilePredicate(predicate)(metadata);

describe('compilePredicate', () => {
  it('treats undefined as the wildcard', () => {
    expect(test(undefined)).toBe(true);
  });

  it('reads paths with and without a leading slash (the anchor dropped the first segment)', () => {
    expect(test({ op: 'test', path: '/IP/src_addr', value: '127.0.0.1' })).toBe(true);
    expect(test({ op: 'test', path: 'IP/src_addr', value: '127.0.0.1' })).toBe(true);
  });

  it.each<[Predicate, boolean]>([
    [{ op: 'contains', path: '/HTTP/url/path', value: 'trics' }, true],
    [{ op: 'contains', path: '/tags', value: 'green' }, true],
    [{ op: 'contains', path: '/tags', value: { x: 1 } }, true],
    [{ op: 'contains', path: '/tags', value: 'blue' }, false],
    [{ op: 'contains', path: '/a/b', value: 1 }, false],
    [{ op: 'defined', path: '/a/b' }, true],
    [{ op: 'defined', path: '/nothing' }, true],
    [{ op: 'defined', path: '/a/x' }, false],
    [{ op: 'undefined', path: '/a/x' }, true],
    [{ op: 'undefined', path: '/nothing' }, false],
    [{ op: 'starts', path: '/HTTP/url/path', value: '/metrics' }, true],
    [{ op: 'starts', path: '/HTTP/url/path', value: '/api' }, false],
    [{ op: 'starts', path: '/a/b', value: '1' }, false],
    [{ op: 'ends', path: '/HTTP/url/path', value: '/all' }, true],
    [{ op: 'less', path: '/a/c/d', value: 15 }, true],
    [{ op: 'less', path: '/a/c/d', value: 10 }, false],
    [{ op: 'less', path: '/IP/src_addr', value: 15 }, false],
    [{ op: 'more', path: '/UDP/src_port', value: 1024 }, true],
    [{ op: 'in', path: '/HTTP/method', value: ['GET', 'HEAD'] }, true],
    [{ op: 'in', path: '/a/c', value: [{ d: 10 }] }, true],
    [{ op: 'in', path: '/HTTP/method', value: ['POST'] }, false],
    [{ op: 'test', path: '/a', value: { b: 1, c: { d: 10 } } }, true],
    [{ op: 'test', path: '/a', value: { b: 1 } }, false],
    [{ op: 'matches', path: '/IP/src_addr', value: '^127\\.' }, true],
    [{ op: 'matches', path: '/UDP/src_port', value: '4000' }, false],
    [{ op: 'type', path: '/tags', value: 'array' }, true],
    [{ op: 'type', path: '/nothing', value: 'null' }, true],
    [{ op: 'type', path: '/a', value: 'object' }, true],
    [{ op: 'type', path: '/UDP/src_port', value: 'number' }, true],
    [{ op: 'type', path: '/name', value: 'string' }, true],
    [{ op: 'type', path: '/name', value: 'number' }, false],
    [{ op: 'type', path: '/when/date', value: 'date' }, true],
    [{ op: 'type', path: '/when/time', value: 'time' }, true],
    [{ op: 'type', path: '/when/dt', value: 'date-time' }, true],
    [{ op: 'type', path: '/when/date', value: 'date-time' }, false],
    [{ op: 'type', path: '/lang', value: 'lang' }, true],
    [{ op: 'type', path: '/lang', value: 'lang-range' }, true],
    [{ op: 'type', path: '/iri', value: 'absolute-iri' }, true],
    [{ op: 'type', path: '/HTTP/url/path', value: 'absolute-iri' }, false],
    [{ op: 'type', path: '/HTTP/url/path', value: 'iri' }, true],
    [{ op: 'contained', path: '/tags', value: 'red' }, true],
    [{ op: 'contained', path: '/tags', value: 'blue' }, false],
    [{ op: 'intersects', path: '/tags', value: ['blue', 'red'] }, true],
    [{ op: 'intersects', path: '/tags', value: ['blue'] }, false],
  ])('first-order %j → %s', (predicate, expected) => {
    expect(test(predicate)).toBe(expected);
  });

  it('lower-cases strings with ignore_case', () => {
    expect(test({ op: 'test', path: '/HTTP/headers/Host', value: 'example.com' })).toBe(false);
    expect(test({ op: 'test', path: '/HTTP/headers/Host', value: 'EXAMPLE.com', ignore_case: true })).toBe(
      true,
    );
    expect(test({ op: 'starts', path: '/HTTP/headers/Host', value: 'EXA', ignore_case: true })).toBe(true);
    expect(test({ op: 'in', path: '/HTTP/method', value: ['get'], ignore_case: true })).toBe(true);
    expect(
      test({ op: 'matches', path: '/HTTP/headers/Host', value: '^example\\.COM$', ignore_case: true }),
    ).toBe(true);
  });

  it('combines with and / or / not', () => {
    const defined: Predicate = { op: 'defined', path: '/a/b' };
    const less: Predicate = { op: 'less', path: '/a/c/d', value: 15 };
    const failing: Predicate = { op: 'less', path: '/a/c/d', value: 5 };
    expect(test({ op: 'and', apply: [defined, less] })).toBe(true);
    expect(test({ op: 'and', apply: [defined, failing] })).toBe(false);
    expect(test({ op: 'or', apply: [failing, less] })).toBe(true);
    expect(test({ op: 'or', apply: [failing] })).toBe(false);
    expect(test({ op: 'or', apply: [] })).toBe(true);
    // `not` is NOR: true only if none holds.
    expect(test({ op: 'not', apply: [failing] })).toBe(true);
    expect(test({ op: 'not', apply: [failing, less] })).toBe(false);
  });

  it('re-roots the data of second-order ops at their path', () => {
    expect(test({ op: 'and', path: '/a', apply: [{ op: 'test', path: '/c/d', value: 10 }] })).toBe(true);
    expect(test({ op: 'and', path: 'a/c', apply: [{ op: 'more', path: 'd', value: 9 }] })).toBe(true);
    expect(test({ op: 'and', path: '/a', apply: [{ op: 'defined', path: '/IP' }] })).toBe(false);
  });

  it('compiles unusable predicates to "never matches" instead of throwing', () => {
    const broken = [
      { op: 'nope', path: '/a' },
      { op: 'matches', path: '/name', value: '([' },
      { op: 'less', path: '/a/b', value: 'x' },
      { op: 'and' },
      { op: 'test' },
      { op: 'in', path: '/a', value: 'not-an-array' },
    ] as unknown as Predicate[];
    for (const predicate of broken) expect(test(predicate)).toBe(false);
  });

  it('compares JSON values structurally', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { b: 1 })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
    expect(deepEqual(NaN, NaN)).toBe(true);
    expect(deepEqual(null, {})).toBe(false);
  });
});
