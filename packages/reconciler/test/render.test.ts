import { describe, expect, it } from '@jest/globals';
import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';
import {
  isPodReady,
  mergeOwnedConfig,
  renderDesiredState,
  sameConfig,
  selectorMatches,
  ServiceIndex,
  backoffDelay,
} from '../src';
import { podBody, task1Manifests } from './support';

const pod = (
  name: string,
  ip: string,
  labels: Record<string, string>,
  extra: { ready?: boolean; ns?: string; apiAddress?: string } = {},
) =>
  podBody({
    name,
    ip,
    labels,
    ...(extra.ready !== undefined ? { ready: extra.ready } : {}),
    ...(extra.ns !== undefined ? { namespace: extra.ns } : {}),
    ...(extra.apiAddress !== undefined ? { apiAddress: extra.apiAddress } : {}),
  }) as V1Pod;
const byKind = (kind: string) => task1Manifests().filter((m) => m.kind === kind);
const UDP = '/l7mp.io/v1/Target/default/udp-cluster';

describe('selectorMatches', () => {
  const services = new ServiceIndex([
    {
      metadata: { name: 'svc', namespace: 'default' },
      subsets: [
        {
          addresses: [{ ip: '1.1.1.1', targetRef: { kind: 'Pod', name: 'a', namespace: 'default' } }],
          notReadyAddresses: [{ ip: '1.1.1.2', targetRef: { kind: 'Pod', name: 'b', namespace: 'default' } }],
        },
      ],
    } as V1Endpoints,
  ]);
  const ctx = { namespace: 'default', services };
  const a = pod('a', '1.1.1.1', { app: 'x', tier: 'gold' });
  const b = pod('b', '1.1.1.2', { app: 'y' }, { ns: 'default' });
  it.each([
    [{}, a, true],
    [{ matchLabels: { app: 'x' } }, a, true],
    [{ matchLabels: { app: 'x' } }, b, false],
    [{ matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['x', 'z'] }] }, a, true],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn' as const, values: ['x'] }] }, a, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' as const }] }, b, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' as const }] }, b, true],
    [{ matchFields: [{ key: 'status.podIP', operator: 'In' as const, values: ['1.1.1.1'] }] }, a, true],
    [{ matchFields: [{ key: 'status.containerStatuses', operator: 'Exists' as const }] }, a, true],
    [{ matchNamespace: 'other' }, a, false],
    [{ matchService: 'svc' }, a, true],
    [{ matchService: 'svc' }, b, false],
    [{ matchService: 'default/svc', matchLabels: { app: 'x' } }, a, true],
  ])('%j', (selector, p, expected) => {
    expect(selectorMatches(selector, p, ctx)).toBe(expected);
  });

  it('treats a pod without Ready=True as not ready', () => {
    expect(isPodReady(a)).toBe(true);
    expect(isPodReady(pod('c', '1.1.1.3', {}, { ready: false }))).toBe(false);
  });
});

describe('renderDesiredState', () => {
  const pods = [
    pod('ingress', '10.0.0.1', { app: 'l7mp-ingress' }),
    pod('transcoder', '10.0.0.11', { app: 'transcoder' }),
    pod('w1', '10.0.0.21', { app: 'worker' }),
    pod('w2', '10.0.0.22', { app: 'worker' }, { ready: false }),
  ];
  const snapshot = {
    pods,
    endpoints: [],
    virtualServices: byKind('VirtualService'),
    targets: byKind('Target'),
    rules: [],
  };

  it('renders task1: proxies are only the pods selected by a resource, endpoints only ready pods', () => {
    const state = renderDesiredState(snapshot);
    expect([...state.proxies.keys()]).toEqual(['default/ingress', 'default/transcoder']);
    const ingress = state.proxies.get('default/ingress');
    expect(ingress?.address).toBe('http://10.0.0.1:1234');
    expect(ingress?.owned.clusters.find((c) => c.name === UDP)?.endpoints).toEqual([
      { name: `${UDP}/10.0.0.21`, spec: { address: '10.0.0.21' } },
    ]);
    expect(ingress?.owned.clusters.find((c) => c.name === '/l7mp.io/v1/Target/default/ws-svc')?.spec).toEqual(
      { protocol: 'WebSocket', port: 8888 },
    );
    expect(ingress?.owned.listeners.map((l) => l.name)).toEqual([
      '/l7mp.io/v1/VirtualService/default/gateway-vsvc',
    ]);
    for (const v of state.resources.values()) expect(v.accepted).toBe(true);
  });

  it('keeps dynamic endpoints when a Target changes (anchor bug 1)', () => {
    const targets = byKind('Target').map((t) =>
      (t.metadata as { name: string }).name === 'udp-cluster'
        ? {
            ...t,
            spec: {
              ...(t.spec as object),
              cluster: { ...(t.spec as { cluster: object }).cluster, spec: { UDP: { port: 9998 } } },
            },
          }
        : t,
    );
    const state = renderDesiredState({ ...snapshot, targets });
    const cluster = state.proxies.get('default/ingress')?.owned.clusters.find((c) => c.name === UDP);
    expect(cluster?.spec).toEqual({ protocol: 'UDP', port: 9998 });
    expect(cluster?.endpoints).toHaveLength(1);
  });

  it('lets a Target without selector and an invalid CR fail alone (anchor bug 4)', () => {
    const state = renderDesiredState({
      ...snapshot,
      targets: [
        ...byKind('Target'),
        {
          apiVersion: 'l7mp.io/v1',
          kind: 'Target',
          metadata: { name: 'nosel', namespace: 'default' },
          spec: { cluster: { spec: { UDP: { port: 1 } } } },
        },
        {
          apiVersion: 'l7mp.io/v1',
          kind: 'Target',
          metadata: { name: 'bad', namespace: 'default' },
          spec: { selector: {}, cluster: { spec: { Bogus: {} } } },
        },
      ],
    });
    expect(state.resources.get('/l7mp.io/v1/Target/default/nosel')?.reason).toBe('NoSelector');
    expect(state.resources.get('/l7mp.io/v1/Target/default/bad')?.accepted).toBe(false);
    expect(state.proxies.get('default/ingress')?.owned.clusters.map((c) => c.name)).toContain(UDP);
  });

  it('reports a listener port clash on a proxy to the younger resource', () => {
    const gw = byKind('VirtualService').find(
      (v) => (v.metadata as { name: string }).name === 'gateway-vsvc',
    ) as Record<string, unknown>;
    const older = {
      ...gw,
      metadata: { ...(gw.metadata as object), creationTimestamp: '2020-01-01T00:00:00Z' },
    };
    const clone = {
      ...gw,
      metadata: { name: 'gateway-2', namespace: 'default', creationTimestamp: '2021-01-01T00:00:00Z' },
    };
    const state = renderDesiredState({ ...snapshot, virtualServices: [clone, older] });
    expect(
      state.resources.get('/l7mp.io/v1/VirtualService/default/gateway-2')?.problems[0]?.message,
    ).toContain('already used');
    expect(state.proxies.get('default/ingress')?.owned.listeners).toHaveLength(1);
  });

  it('inserts Rules into their rulelist at their position and keeps foreign objects', () => {
    const rule = {
      apiVersion: 'l7mp.io/v1',
      kind: 'Rule',
      metadata: { name: 'r1', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'l7mp-ingress' } },
        rulelist: 'static-rl',
        position: 1,
        rule: { action: { route: { destinationRef: 'udp-cluster' } } },
      },
    };
    const state = renderDesiredState({ ...snapshot, rules: [rule] });
    const owned = state.proxies.get('default/ingress')?.owned;
    if (owned === undefined) throw new Error('no ingress');
    const current = {
      listeners: [],
      clusters: [{ name: 'mine', spec: { protocol: 'UDP' as const, port: 5 }, endpoints: [] }],
      rulelists: [{ name: 'static-rl', rules: ['a', 'b'] }],
      rules: [],
      routes: [],
    };
    const { document, problems } = mergeOwnedConfig(current as never, owned);
    expect(problems).toEqual([]);
    expect(document.rulelists.find((r) => r.name === 'static-rl')?.rules).toEqual([
      'a',
      '/l7mp.io/v1/Rule/default/r1',
      'b',
    ]);
    expect(document.clusters.some((c) => c.name === 'mine')).toBe(true);
    // Merging the result again changes nothing.
    expect(sameConfig(mergeOwnedConfig(document, owned).document, document)).toBe(true);
    const missing = mergeOwnedConfig({ ...current, rulelists: [] } as never, owned);
    expect(missing.problems[0]?.message).toContain('static-rl');
    // One object more or less is a difference.
    expect(sameConfig(document, { ...document, clusters: document.clusters.slice(1) })).toBe(false);
  });

  it('selects proxies by label pairs exactly as a full scan does', () => {
    const pods = [
      pod('both', '10.9.0.1', { a: '1', b: '2' }),
      pod('only-a', '10.9.0.2', { a: '1' }),
      pod('only-b', '10.9.0.3', { b: '2' }),
      pod('a-other', '10.9.0.4', { a: '3', b: '2' }),
    ];
    const targetWith = (name: string, selector: Record<string, unknown>) => ({
      apiVersion: 'l7mp.io/v1',
      kind: 'Target',
      metadata: { name, namespace: 'default' },
      spec: { selector, cluster: { spec: { UDP: { port: 1 } } } },
    });
    const state = renderDesiredState({
      pods,
      endpoints: [],
      virtualServices: [],
      rules: [],
      targets: [
        targetWith('pair', { matchLabels: { a: '1', b: '2' } }),
        targetWith('pair-and-expression', {
          matchLabels: { a: '1' },
          matchExpressions: [{ key: 'b', operator: 'DoesNotExist' }],
        }),
        targetWith('b', { matchLabels: { b: '2' } }),
        targetWith('no-pod', { matchLabels: { a: '9' } }),
        targetWith('expression-only', { matchExpressions: [{ key: 'a', operator: 'In', values: ['3'] }] }),
      ],
    });
    const proxiesOf = (name: string) => state.resources.get(`/l7mp.io/v1/Target/default/${name}`)?.proxies;
    expect(proxiesOf('pair')).toEqual(['default/both']);
    expect(proxiesOf('pair-and-expression')).toEqual(['default/only-a']);
    expect(proxiesOf('b')).toEqual(['default/both', 'default/only-b', 'default/a-other']);
    expect(proxiesOf('no-pod')).toEqual([]);
    expect(proxiesOf('expression-only')).toEqual(['default/a-other']);
  });

  it('uses the api-address annotation', () => {
    const state = renderDesiredState({
      ...snapshot,
      pods: [pod('ingress', '10.0.0.1', { app: 'l7mp-ingress' }, { apiAddress: '127.0.0.1:5555' })],
    });
    expect(state.proxies.get('default/ingress')?.address).toBe('http://127.0.0.1:5555');
  });
});

describe('backoffDelay', () => {
  it('doubles up to the cap', () => {
    const mid = () => 0.5;
    expect(backoffDelay(1, { initialMs: 100, maxMs: 1000 }, mid)).toBe(100);
    expect(backoffDelay(3, { initialMs: 100, maxMs: 1000 }, mid)).toBe(400);
    expect(backoffDelay(10, { initialMs: 100, maxMs: 1000 }, mid)).toBe(1000);
  });
});
