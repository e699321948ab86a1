import { afterEach, describe, expect, it } from '@jest/globals';
import { NotFoundError } from '../src/errors';
import { lookupRoute, RuleLoopError } from '../src/session/lookup';
import { ObjectStore } from '../src/store/entries';
import { createRuleEntry } from '../src/store/build';
import type { Predicate } from '@l7mp/config';
import { harness, testCluster, type Harness } from './support/engine';

function storeWith(
  rulelists: Record<string, string[]>,
  rules: Record<string, { match?: Predicate; apply?: string; route?: string }>,
): ObjectStore {
  const store = new ObjectStore();
  for (const [name, list] of Object.entries(rulelists))
    store.rulelists.set(name, { name, rules: list, generated: false });
  for (const [name, r] of Object.entries(rules)) {
    store.rules.set(
      name,
      createRuleEntry({
        name,
        ...(r.match !== undefined ? { match: r.match } : {}),
        action: {
          ...(r.apply !== undefined ? { apply: r.apply } : {}),
          ...(r.route !== undefined ? { route: r.route } : {}),
        },
        generated: false,
      }),
    );
  }
  return store;
}

describe('lookupRoute', () => {
  it('takes the first matching rule in order and counts matches', () => {
    const store = storeWith(
      { rl: ['starts', 'defined', 'any'] },
      {
        starts: { match: { op: 'starts', path: '/a/b', value: 'x' }, route: 'r1' },
        defined: { match: { op: 'defined', path: '/a/c' }, route: 'r2' },
        any: { route: 'r3' },
      },
    );
    expect(lookupRoute(store, 'rl', { a: { b: 'xyz' } })).toMatchObject({
      rule: 'starts',
      action: { route: 'r1' },
    });
    expect(lookupRoute(store, 'rl', { a: { b: 'q', c: null } })?.rule).toBe('defined');
    expect(lookupRoute(store, 'rl', {})?.rule).toBe('any');
    expect(store.rules.get('starts')?.applied).toBe(1);
    expect(store.rules.get('any')?.applied).toBe(1);
  });

  it('returns undefined when nothing matches', () => {
    const store = storeWith(
      { rl: ['r'] },
      { r: { match: { op: 'test', path: '/x', value: 1 }, route: 'x' } },
    );
    expect(lookupRoute(store, 'rl', { x: 2 })).toBeUndefined();
    expect(lookupRoute(storeWith({ empty: [] }, {}), 'empty', {})).toBeUndefined();
  });

  it('follows apply into another RuleList, which takes precedence over route', () => {
    const store = storeWith(
      { outer: ['jump'], inner: ['final'] },
      { jump: { apply: 'inner', route: 'ignored' }, final: { route: 'deep' } },
    );
    expect(lookupRoute(store, 'outer', {})).toEqual({
      rulelist: 'inner',
      rule: 'final',
      action: { route: 'deep' },
    });
  });

  it('reports an apply loop naming the cycle', () => {
    const store = storeWith({ a: ['toB'], b: ['toA'] }, { toB: { apply: 'b' }, toA: { apply: 'a' } });
    expect(() => lookupRoute(store, 'a', {})).toThrow(RuleLoopError);
    expect(() => lookupRoute(store, 'a', {})).toThrow('Rule lookup loop: RuleList "a" -> "b" -> "a"');
    const self = storeWith({ s: ['me'] }, { me: { apply: 's' } });
    expect(() => lookupRoute(self, 's', {})).toThrow('"s" -> "s"');
  });

  it('a missing RuleList or rule aborts the lookup with the anchor messages', () => {
    const store = storeWith({ rl: ['ghost', 'any'] }, { any: { route: 'r' } });
    expect(() => lookupRoute(store, 'none', {})).toThrow(new NotFoundError('Cannot find RuleList "none"'));
    expect(() => lookupRoute(store, 'rl', {})).toThrow('Cannot find named rule "ghost" in RuleList "rl"');
  });
});

describe('rules in sessions', () => {
  let h: Harness;
  afterEach(async () => {
    await h.proxy.close();
  });

  it('rewrites metadata before routing and the rewritten metadata is what the LB and dump see', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('c', ['a']));
    await h.proxy.addListener({
      name: 'l',
      spec: { protocol: 'Test' },
      rules: [
        {
          match: { op: 'test', path: '/kind', value: 'video' },
          action: {
            rewrite: [
              { path: '/labels/app', value: { id: 7 } },
              { path: 'HTTP/headers', value: 'h' },
            ],
            route: { destination: 'c' },
          },
        },
      ],
    });
    const conn = h.net.listener('l').open({ kind: 'video' });
    expect((await conn.result).ok).toBe(true);
    const dump = h.proxy.getSession('Test:l-0') as { metadata: unknown };
    expect(dump.metadata).toEqual({ kind: 'video', labels: { app: { id: 7 } }, HTTP: { headers: 'h' } });
  });

  it('a session that matches no rule is refused with 404 "No route"', async () => {
    h = harness();
    await h.proxy.addListener({
      name: 'l',
      spec: { protocol: 'Test' },
      rules: [{ match: { op: 'defined', path: '/never' }, action: { route: 'r' } }],
    });
    const conn = h.net.listener('l').open();
    const result = await conn.result;
    expect(result).toMatchObject({ ok: false, status: 404, message: 'No route for session "Test:l-0"' });
    expect(conn.rejected?.status).toBe(404);
    expect(h.proxy.sessions()).toEqual([]);
  });

  it('the RuleList and route are bound by name when a session arrives (late binding)', async () => {
    h = harness();
    await h.proxy.addListener({ name: 'l', spec: { protocol: 'Test' }, rules: 'later-rl' });
    const first = await h.net.listener('l').open().result;
    expect(first).toMatchObject({ status: 404, message: 'Cannot find RuleList "later-rl"' });
    await h.proxy.addRuleList({ name: 'later-rl', rules: [{ action: { route: 'later-route' } }] });
    expect((await h.net.listener('l').open().result).message).toBe(
      'Cannot find Route "later-route" for session "Test:l-1"',
    );
    await h.proxy.addRoute({ name: 'later-route', destination: 'later-cluster' });
    await h.proxy.addCluster(testCluster('later-cluster', ['a']));
    expect((await h.net.listener('l').open().result).ok).toBe(true);
  });

  it('an apply loop fails the session with 508 and the cycle', async () => {
    h = harness();
    await h.proxy.addRuleList({ name: 'x', rules: [{ action: { apply: 'y' } }] });
    await h.proxy.addRuleList({ name: 'y', rules: [{ action: { apply: 'x' } }] });
    await h.proxy.addListener({ name: 'l', spec: { protocol: 'Test' }, rules: 'x' });
    const result = await h.net.listener('l').open().result;
    expect(result).toMatchObject({
      ok: false,
      status: 508,
      message: 'Rule lookup loop: RuleList "x" -> "y" -> "x"',
    });
  });
});
