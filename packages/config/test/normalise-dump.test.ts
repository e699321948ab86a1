import { describe, expect, it } from '@jest/globals';
import {
  dumpCluster,
  dumpEndpoint,
  dumpFlatConfig,
  dumpListener,
  dumpRoute,
  dumpRule,
  dumpRuleList,
  lookupIn,
  NameRegistry,
  normaliseObject,
  parseAndNormaliseConfig,
  parseListener,
  type FlatConfig,
} from '@l7mp/config';

const names = (flat: FlatConfig) => ({
  listeners: flat.listeners.map((o) => o.name),
  clusters: flat.clusters.map((o) => o.name),
  endpoints: flat.clusters.flatMap((c) => c.endpoints.map((e) => e.name)),
  rulelists: flat.rulelists.map((o) => o.name),
  rules: flat.rules.map((o) => o.name),
  routes: flat.routes.map((o) => o.name),
});

const gateway = {
  admin: { log_level: 'info' },
  listeners: [
    {
      name: 'udp',
      spec: { protocol: 'UDP', port: 9001 },
      rules: [
        {
          match: { op: 'starts', path: '/IP/src_addr', value: '127.' },
          action: {
            rewrite: [{ path: '/labels/a', value: 1 }],
            route: {
              destination: {
                spec: { protocol: 'UDP', port: 9999 },
                endpoints: [
                  { spec: { address: '10.0.0.1' } },
                  { name: 'w2', spec: { address: '10.0.0.2' }, weight: 2 },
                ],
              },
              ingress: [{ spec: { protocol: 'Logger' } }, 'shared-echo'],
              egress: [{ name: 'egress-echo', spec: { protocol: 'Echo' } }],
              retry: { retry_on: 'always' },
            },
          },
        },
        'named-rule',
      ],
    },
    { name: 'tcp', spec: { TCP: { port: 1 } }, rules: [] },
    { name: 'ref', spec: { protocol: 'TCP', port: 2 }, rules: 'top-rl' },
  ],
  clusters: [{ name: 'shared-echo', spec: { protocol: 'Echo' } }],
  rulelists: [{ name: 'top-rl', rules: ['named-rule', { action: { apply: 'other' } }] }],
  rules: [{ name: 'named-rule', action: { route: 'named-route' } }],
  routes: [{ name: 'named-route', cluster: { spec: { protocol: 'Discard' } } }],
};

describe('normaliser', () => {
  it('names embedded objects with the anchor scheme and per-kind counters', () => {
    const flat = parseAndNormaliseConfig(gateway);
    expect(names(flat)).toEqual({
      listeners: ['udp', 'tcp', 'ref'],
      clusters: [
        'shared-echo',
        'udp-RuleList-0-Rule-0-Route-0-Cluster-0',
        'udp-RuleList-0-Rule-0-Route-0-ingress-Cluster-1',
        'egress-echo',
        'named-route-Cluster-2',
      ],
      endpoints: ['udp-RuleList-0-Rule-0-Route-0-Cluster-0-EndPoint-0', 'w2'],
      rulelists: ['udp-RuleList-0', 'tcp-RuleList-1', 'top-rl'],
      rules: ['udp-RuleList-0-Rule-0', 'top-rl-Rule-1', 'named-rule'],
      routes: ['udp-RuleList-0-Rule-0-Route-0', 'named-route'],
    });
    expect(flat.listeners.map((l) => l.rules)).toEqual(['udp-RuleList-0', 'tcp-RuleList-1', 'top-rl']);
    expect(flat.listeners[1]?.spec).toEqual({ protocol: 'TCP', port: 1 });
    expect(flat.rulelists[1]).toEqual({ name: 'tcp-RuleList-1', rules: [], generated: true });
    expect(flat.rulelists[0]?.rules).toEqual(['udp-RuleList-0-Rule-0', 'named-rule']);
    expect(flat.routes[0]).toEqual({
      name: 'udp-RuleList-0-Rule-0-Route-0',
      destination: 'udp-RuleList-0-Rule-0-Route-0-Cluster-0',
      ingress: ['udp-RuleList-0-Rule-0-Route-0-ingress-Cluster-1', 'shared-echo'],
      egress: ['egress-echo'],
      retry: { retry_on: 'always', num_retries: 1, timeout: 2000 },
      generated: true,
    });
    expect(flat.routes[1]?.destination).toBe('named-route-Cluster-2');
    expect(flat.clusters.map((c) => c.generated)).toEqual([false, true, true, true, true]);
    expect(flat.rules.map((r) => r.generated)).toEqual([true, true, false]);
    expect(flat.admin).toEqual({ log_level: 'info' });
  });

  it('gives a generated name the _1 suffix when the config spells that name out, even later or nested', () => {
    const flat = parseAndNormaliseConfig({
      listeners: [{ name: 'l', spec: { protocol: 'TCP', port: 1 }, rules: [{ action: { route: 'r' } }] }],
      rulelists: [
        { name: 'rl', rules: [{ name: 'l-RuleList-0-Rule-0', action: { route: 'r' } }] },
        { name: 'l-RuleList-0', rules: [] },
      ],
    });
    expect(flat.listeners[0]?.rules).toBe('l-RuleList-0_1');
    expect(flat.rules.map((r) => r.name)).toEqual(['l-RuleList-0_1-Rule-0', 'l-RuleList-0-Rule-0']);
  });

  it('suffixes names already taken in the registry, up to _20, then fails with the anchor message', () => {
    const registry = new NameRegistry(
      (kind, name) => kind === 'rulelist' && /^l-RuleList-0(_([1-9]|1[0-9]))?$/.test(name),
    );
    const flat = parseAndNormaliseConfig(
      { listeners: [{ name: 'l', spec: { protocol: 'TCP', port: 1 }, rules: [] }] },
      registry,
    );
    expect(flat.listeners[0]?.rules).toBe('l-RuleList-0_20');
    const full = new NameRegistry((kind, name) => kind === 'rulelist' && name.startsWith('l-RuleList-0'));
    expect(() =>
      parseAndNormaliseConfig(
        { listeners: [{ name: 'l', spec: { protocol: 'TCP', port: 1 }, rules: [] }] },
        full,
      ),
    ).toThrow('Cannot create new name from l-RuleList-0: Could not find new name after 20 iterations');
  });

  it('keeps counters across normalisations that share a registry, like a running proxy', () => {
    const registry = new NameRegistry();
    const config = (name: string) => ({
      listeners: [{ name, spec: { protocol: 'TCP', port: 1 }, rules: [] }],
    });
    expect(parseAndNormaliseConfig(config('a'), registry).listeners[0]?.rules).toBe('a-RuleList-0');
    expect(parseAndNormaliseConfig(config('b'), registry).listeners[0]?.rules).toBe('b-RuleList-1');
  });

  it('reports a name the registry already holds as already defined', () => {
    const registry = new NameRegistry((kind, name) => kind === 'listener' && name === 'x');
    expect(() =>
      parseAndNormaliseConfig(
        { listeners: [{ name: 'x', spec: { protocol: 'TCP', port: 1 }, rules: [] }] },
        registry,
      ),
    ).toThrow('listeners[0].name: Listener "x" already defined');
  });
});

describe('normaliseObject (one REST body)', () => {
  const body = parseListener({
    name: 'l',
    spec: { protocol: 'TCP', port: 1 },
    rules: [{ action: { route: { destination: { name: 'existing', spec: { protocol: 'Echo' } } } } }],
  });

  it('flattens one object with anchor names, continuing the registry counters', () => {
    const registry = new NameRegistry();
    registry.generate('rulelist', 'other', 'RuleList');
    const flat = normaliseObject('listener', body, registry);
    expect(flat.listeners.map((l) => l.rules)).toEqual(['l-RuleList-1']);
    expect(flat.routes.map((r) => r.name)).toEqual(['l-RuleList-1-Rule-0-Route-0']);
  });

  it('reports names the proxy already has with paths relative to the object, and keeps none of them', () => {
    const registry = new NameRegistry((kind, name) => kind === 'cluster' && name === 'existing');
    expect(() => normaliseObject('listener', body, registry)).toThrow(
      'rules[0].action.route.destination.name: Cluster "existing" already defined',
    );
    // The failed add must not leave "l" behind: adding it again reports only the real problem.
    expect(() => normaliseObject('listener', body, registry)).toThrow(
      /^rules\[0\]\.action\.route\.destination\.name: Cluster "existing" already defined$/,
    );
    expect(normaliseObject('listener', body, new NameRegistry()).listeners[0]?.name).toBe('l');
  });
});

describe('REST dumps (anchor §1.3-§1.7)', () => {
  const flat = parseAndNormaliseConfig({
    ...gateway,
    clusters: [
      ...gateway.clusters,
      { name: 'log', spec: { protocol: 'Logger', foo: 1 }, loadbalancer: { policy: 'ConsistentHash' } },
      { name: 'sync', spec: { protocol: 'Sync', query: '/a' } },
      {
        name: 'ws',
        spec: { protocol: 'WebSocket', port: 1 },
        endpoints: [{ name: 'we', spec: { address: 'a' } }],
        loadbalancer: { policy: 'ConsistentHash', key: '/IP/src_addr' },
      },
    ],
  });
  const lookup = lookupIn(flat);
  const find = <T extends { name: string }>(items: T[], name: string): T => {
    const item = items.find((i) => i.name === name);
    if (!item) throw new Error(`no ${name}`);
    return item;
  };

  it('dumps clusters with an endpoint count, or the endpoints when recursive', () => {
    const ws = find(flat.clusters, 'ws');
    expect(dumpCluster(ws)).toEqual({
      name: 'ws',
      spec: { protocol: 'WebSocket', port: 1 },
      endpoints: 1,
      loadbalancer: { policy: 'ConsistentHash', key: '/IP/src_addr' },
    });
    expect(dumpCluster(ws, { recursive: true }).endpoints).toEqual([
      { name: 'we', spec: { address: 'a' }, weight: 1 },
    ]);
    const udp = find(flat.clusters, 'udp-RuleList-0-Rule-0-Route-0-Cluster-0');
    expect(dumpCluster(udp)).toMatchObject({ endpoints: 2, loadbalancer: { policy: 'Trivial' } });
  });

  it('dumps virtual clusters with only the spec fields they keep, their own load balancer and a <VIRTUAL> endpoint', () => {
    expect(dumpCluster(find(flat.clusters, 'log'), { recursive: true })).toEqual({
      name: 'log',
      spec: { protocol: 'Logger', log_file: '-', log_prefix: '' },
      endpoints: [{ name: 'log', spec: { address: '<VIRTUAL>' } }],
      loadbalancer: { policy: 'None' },
    });
    expect(dumpCluster(find(flat.clusters, 'shared-echo'))).toEqual({
      name: 'shared-echo',
      spec: { protocol: 'Echo' },
      endpoints: 1,
      loadbalancer: { policy: 'Trivial' },
    });
    expect(dumpCluster(find(flat.clusters, 'sync')).spec).toEqual({ protocol: 'Sync', query: '/a' });
  });

  it('dumps endpoints as {name, spec, weight}', () => {
    expect(dumpEndpoint({ name: 'e', spec: { address: 'a' }, weight: 3, generated: true })).toEqual({
      name: 'e',
      spec: { address: 'a' },
      weight: 3,
    });
  });

  it('dumps a rule without match as match {match: "*"} and expands its route when recursive', () => {
    const named = find(flat.rules, 'named-rule');
    expect(dumpRule(named)).toEqual({
      name: 'named-rule',
      match: { match: '*' },
      action: { route: 'named-route' },
    });
    const expanded = dumpRule(named, { recursive: true, lookup });
    expect(expanded.action.route).toMatchObject({
      name: 'named-route',
      destination: {
        name: 'named-route-Cluster-2',
        endpoints: [{ name: 'named-route-Cluster-2', spec: { address: '<VIRTUAL>' } }],
      },
    });
    const generated = find(flat.rules, 'udp-RuleList-0-Rule-0');
    expect(dumpRule(generated)).toEqual({
      name: 'udp-RuleList-0-Rule-0',
      match: { op: 'starts', path: '/IP/src_addr', value: '127.' },
      action: { rewrite: [{ path: '/labels/a', value: 1 }], route: 'udp-RuleList-0-Rule-0-Route-0' },
    });
  });

  it('dumps routes with defaults and marks missing clusters as <STALE>', () => {
    const route = find(flat.routes, 'named-route');
    expect(dumpRoute(route)).toEqual({
      name: 'named-route',
      destination: 'named-route-Cluster-2',
      ingress: [],
      egress: [],
      retry: { retry_on: 'never', num_retries: 1, timeout: 2000 },
    });
    const dangling = { ...route, ingress: ['gone'] };
    expect(dumpRoute(dangling, { recursive: true, lookup }).ingress).toEqual(['gone:<STALE>']);
    expect(dumpRoute(dangling, { recursive: true }).ingress).toEqual(['gone']);
  });

  it('dumps rulelists and listeners, recursively down to the route destination', () => {
    expect(dumpRuleList(find(flat.rulelists, 'top-rl'))).toEqual({
      name: 'top-rl',
      rules: ['named-rule', 'top-rl-Rule-1'],
    });
    expect(
      dumpRuleList({ name: 'x', rules: ['nope'], generated: false }, { recursive: true, lookup }),
    ).toEqual({ name: 'x', rules: ['nope:<STALE>'] });
    const udp = find(flat.listeners, 'udp');
    expect(dumpListener(udp)).toEqual({
      name: 'udp',
      spec: { protocol: 'UDP', port: 9001 },
      rules: 'udp-RuleList-0',
      options: { track: 0 },
    });
    const recursive = dumpListener(udp, { recursive: true, lookup });
    expect(recursive.rules).toMatchObject([
      {
        action: {
          route: {
            destination: {
              name: 'udp-RuleList-0-Rule-0-Route-0-Cluster-0',
              endpoints: [{ weight: 1 }, { name: 'w2', weight: 2 }],
            },
          },
        },
      },
      { name: 'named-rule' },
    ]);
    expect(dumpListener({ ...udp, rules: 'gone' }, { recursive: true, lookup }).rules).toBe('gone:<STALE>');
  });
});

describe('dumpFlatConfig round trip', () => {
  // The objects, without generated marks, each kind sorted by name: embedding may change the
  // order in which objects of one kind are listed, never what they are.
  const withoutGenerated = (flat: FlatConfig) => {
    const byName = <T extends { name: string }>(items: T[]) =>
      [...items].sort((a, b) => a.name.localeCompare(b.name));
    const sorted = {
      ...flat,
      listeners: byName(flat.listeners),
      clusters: byName(flat.clusters),
      rulelists: byName(flat.rulelists),
      rules: byName(flat.rules),
      routes: byName(flat.routes),
    };
    return JSON.parse(
      JSON.stringify(sorted, (key, value: unknown) => (key === 'generated' ? undefined : value)),
    ) as unknown;
  };

  it.each([false, true])(
    'normalise → dump (embed %s) → parse → normalise gives the same objects',
    (embed) => {
      const flat = parseAndNormaliseConfig(gateway);
      const again = parseAndNormaliseConfig(dumpFlatConfig(flat, { embed }));
      expect(withoutGenerated(again)).toEqual(withoutGenerated(flat));
      if (!embed) expect(names(again)).toEqual(names(flat));
    },
  );

  it('keeps generated marks when embedding (endpoint names excepted) and lists everything flat otherwise', () => {
    const flat = parseAndNormaliseConfig(gateway);
    const embedded = parseAndNormaliseConfig(dumpFlatConfig(flat, { embed: true }));
    const marks = (f: FlatConfig) =>
      [f.listeners, f.clusters, f.rulelists, f.rules, f.routes].map((list) =>
        Object.fromEntries(list.map((o) => [o.name, o.generated])),
      );
    expect(marks(embedded)).toEqual(marks(flat));
    const doc = dumpFlatConfig(flat);
    expect(doc.rulelists.map((r) => r.name)).toEqual(['udp-RuleList-0', 'tcp-RuleList-1', 'top-rl']);
    expect(doc.listeners[0]?.rules).toBe('udp-RuleList-0');
    const embeddedDoc = dumpFlatConfig(flat, { embed: true });
    expect(embeddedDoc.rulelists.map((r) => r.name)).toEqual(['top-rl']);
    expect(embeddedDoc.clusters.map((c) => c.name)).toEqual(['shared-echo']);
  });

  it('keeps a generated RuleList at the top level when re-normalising would rename it', () => {
    const flat = parseAndNormaliseConfig(
      gateway,
      (() => {
        const registry = new NameRegistry();
        registry.generate('rulelist', 'x', 'RuleList'); // the proxy has generated one RuleList name before
        return registry;
      })(),
    );
    expect(flat.listeners[0]?.rules).toBe('udp-RuleList-1');
    const doc = dumpFlatConfig(flat, { embed: true });
    expect(doc.listeners.map((l) => typeof l.rules)).toEqual(['string', 'string', 'string']);
    expect(withoutGenerated(parseAndNormaliseConfig(doc))).toEqual(withoutGenerated(flat));
  });

  it('lists a generated object whose parent is gone at the top level', () => {
    const flat = parseAndNormaliseConfig(gateway);
    const orphaned: FlatConfig = { ...flat, routes: flat.routes.filter((r) => r.name !== 'named-route') };
    const doc = dumpFlatConfig(orphaned, { embed: true });
    expect(doc.clusters.map((c) => c.name)).toEqual(['shared-echo', 'named-route-Cluster-2']);
    expect(withoutGenerated(parseAndNormaliseConfig(doc))).toEqual(withoutGenerated(orphaned));
  });
});
