import { describe, expect, it } from '@jest/globals';
import {
  ClusterSchema,
  ConfigSchema,
  EndpointSchema,
  ListenerSchema,
  NamedClusterSchema,
  NamedListenerSchema,
  NamedRouteSchema,
  NamedRuleSchema,
  NamedRuleListSchema,
  parseWith,
  RouteSchema,
} from '@l7mp/config';
import type { z } from 'zod';

/** Bodies quoted by anchor-proxy.md (README §5.7, configs §6.2, REST bodies of the §9 tests). */
const accepted: [string, z.ZodType, unknown][] = [
  [
    'README WebSocket cluster with weighted endpoints and ConsistentHash',
    NamedClusterSchema,
    {
      name: 'ws-cluster-with-sticky-sessions',
      spec: { protocol: 'WebSocket', port: 16000 },
      endpoints: [{ spec: { address: '127.0.0.1' }, weight: 3 }, { spec: { address: '127.0.0.2' } }],
      loadbalancer: { policy: 'ConsistentHash', key: 'IP/src_addr' },
    },
  ],
  [
    'UDP cluster with bind and an endpoint',
    NamedClusterSchema,
    {
      name: 'udp-c',
      spec: { protocol: 'UDP', port: 16000, bind: { address: '127.0.0.1', port: 16001 } },
      endpoints: [{ name: 'udp-e', spec: { address: '127.0.0.1' } }],
    },
  ],
  [
    'JSONSocket cluster with transport and header',
    NamedClusterSchema,
    {
      name: 'js',
      spec: {
        protocol: 'JSONSocket',
        transport: { protocol: 'UDP', port: 54321 },
        header: [
          { path: '/labels' },
          { path: { from: '/some', to: '/some' } },
          { set: { key: 'a/b', value: 'c' } },
        ],
      },
      endpoints: [{ spec: { address: '127.0.0.1' } }],
    },
  ],
  [
    'JSONSocket cluster with transport_spec',
    NamedClusterSchema,
    { name: 'js2', spec: { protocol: 'JSONSocket', transport_spec: { protocol: 'TCP', port: 1 } } },
  ],
  [
    'Sync cluster with a query',
    NamedClusterSchema,
    { name: 'sync', spec: { protocol: 'Sync', query: 'HTTP/headers/id' } },
  ],
  [
    'Logger cluster',
    NamedClusterSchema,
    { name: 'logger', spec: { protocol: 'Logger', log_file: '-', log_prefix: 'x' } },
  ],
  [
    'Echo cluster with an unknown field',
    NamedClusterSchema,
    { name: 'Echo', spec: { protocol: 'Echo', foo: 1 } },
  ],
  [
    'Stdio, Discard, JSONEncap, JSONDecap, Metric, Prometheus, L7mpController',
    ConfigSchema,
    {
      clusters: ['Stdio', 'Discard', 'JSONEncap', 'JSONDecap', 'Metric', 'Prometheus', 'L7mpController'].map(
        (p) => ({ name: p, spec: { protocol: p } }),
      ),
    },
  ],
  ['TCP cluster', NamedClusterSchema, { name: 't', spec: { protocol: 'TCP', port: 80, bind: { port: 0 } } }],
  [
    'UDS cluster with an endpoint path',
    NamedClusterSchema,
    { name: 'u', spec: { protocol: 'UnixDomainSocket' }, endpoints: [{ spec: { address: '/tmp/x.sock' } }] },
  ],
  [
    'UDS cluster in CRD spelling with filename endpoints (seed)',
    ClusterSchema,
    {
      spec: { UnixDomainSocket: { filename: '/tmp/uds-echo.sock' } },
      endpoints: [{ spec: { filename: '/tmp/uds-echo.sock' } }],
    },
  ],
  [
    'UDS cluster, seqpacket mode',
    NamedClusterSchema,
    { name: 'u2', spec: { protocol: 'UnixDomainSocket', mode: 'seqpacket', filename: '/tmp/s' } },
  ],
  [
    'UDS cluster, stream mode with length-prefixed framing',
    NamedClusterSchema,
    {
      name: 'u3',
      spec: { protocol: 'UnixDomainSocket', mode: 'stream', framing: 'length-prefixed', filename: '/tmp/s' },
    },
  ],
  [
    'a dumped cluster with an endpoint count',
    NamedClusterSchema,
    { name: 'd', spec: { protocol: 'Echo' }, endpoints: 0, loadbalancer: { policy: 'Trivial' } },
  ],
  ['endpoint with an ignored port', EndpointSchema, { name: 'e', spec: { address: '1.2.3.4', port: 99 } }],
  [
    'UDP listener with an inline route, Echo ingress and retry',
    NamedListenerSchema,
    {
      name: 'udp-l',
      spec: {
        protocol: 'UDP',
        port: 16000,
        connect: { address: '127.0.0.1', port: 16001 },
        options: { mode: 'server' },
      },
      rules: [
        {
          action: {
            route: {
              destination: 'echo',
              ingress: [{ spec: { protocol: 'Echo' } }],
              retry: { retry_on: 'always', num_retries: 1, timeout: 1000 },
            },
          },
        },
      ],
    },
  ],
  [
    'UDP singleton listener',
    ListenerSchema,
    {
      name: 's',
      spec: { protocol: 'UDP', port: 1, connect: { address: 'a', port: 2 }, options: { mode: 'singleton' } },
      rules: 'rl',
    },
  ],
  [
    'TCP listener with rules: []',
    NamedListenerSchema,
    { name: 'tcp', spec: { protocol: 'TCP', port: 1 }, rules: [] },
  ],
  [
    'HTTP listener with a path',
    NamedListenerSchema,
    { name: 'h', spec: { protocol: 'HTTP', port: 8080, path: '/x' }, rules: 'r' },
  ],
  [
    'WebSocket listener',
    NamedListenerSchema,
    { name: 'w', spec: { protocol: 'WebSocket', port: 8080 }, rules: 'r', options: { track: 3600 } },
  ],
  [
    'UDS listener',
    NamedListenerSchema,
    { name: 'u', spec: { protocol: 'UnixDomainSocket', filename: '/tmp/l.sock', mode: 'dgram' }, rules: 'r' },
  ],
  [
    'JSONSocket listener over UDP',
    NamedListenerSchema,
    { name: 'j', spec: { protocol: 'JSONSocket', transport: { protocol: 'UDP', port: 54321 } }, rules: 'r' },
  ],
  [
    'JSONSocket listener, transport_spec in CRD spelling',
    NamedListenerSchema,
    { name: 'j2', spec: { JSONSocket: { transport_spec: { UDP: { port: 1 } } } }, rules: 'r' },
  ],
  ['route with string destination', NamedRouteSchema, { name: 'r', destination: 'c' }],
  ['route with cluster alias', NamedRouteSchema, { name: 'r', cluster: 'c' }],
  [
    'complex route with inline ingress/egress and retry {always,1,1000}',
    NamedRouteSchema,
    {
      name: 'test-route',
      destination: {
        name: 'dst',
        spec: { protocol: 'UDP', port: 16000 },
        endpoints: [{ spec: { address: '127.0.0.1' } }],
      },
      ingress: [{ name: 'in', spec: { protocol: 'Echo' } }, 'named'],
      egress: [{ name: 'out', spec: { protocol: 'Discard' } }],
      retry: { retry_on: 'always', num_retries: 1, timeout: 1000 },
    },
  ],
  [
    'rule with match, rewrite, route and apply',
    NamedRuleSchema,
    {
      name: 'test-rule',
      match: { op: 'starts', path: '/HTTP/url/path', value: '/metrics' },
      action: {
        rewrite: [{ path: '/labels/a', value: { b: 1 } }],
        route: { name: 'test-route', destination: 'c' },
        apply: 'other',
      },
    },
  ],
  [
    'rule with nested and/or/not',
    NamedRuleSchema,
    {
      name: 'n',
      match: {
        op: 'and',
        apply: [
          { op: 'defined', path: '/a/b' },
          { op: 'not', apply: [{ op: 'less', path: '/a/c/d', value: 15 }] },
          { op: 'or', apply: [] },
        ],
      },
      action: { route: 'r' },
    },
  ],
  [
    'rule with a string match (wildcard)',
    NamedRuleSchema,
    { name: 'w', match: 'anything', action: { route: 'r' } },
  ],
  [
    'rule with match {match: "*"} (as dumped)',
    NamedRuleSchema,
    { name: 'w2', match: { match: '*' }, action: { route: 'r' } },
  ],
  ['rulelist with string rules', NamedRuleListSchema, { name: 'rl', rules: ['a', 'b'] }],
  [
    'rulelist with an inline rule',
    NamedRuleListSchema,
    { name: 'rl', rules: [{ action: { route: { destination: 'x' } } }] },
  ],
];

describe('schemas accept every body the anchor quotes', () => {
  it.each(accepted)('%s', (_title, schema, body) => {
    expect(() => parseWith(schema, body)).not.toThrow();
  });

  it('accepts the canonical minimal config and the anchor-listed config shapes', () => {
    const config = parseWith(ConfigSchema, {
      admin: { log_level: 'info', log_file: 'stdout', access_log_path: '/tmp/admin_access.log' },
      listeners: [
        {
          name: 'controller-listener',
          spec: { protocol: 'HTTP', port: 1234 },
          rules: [
            {
              action: {
                route: { destination: { name: 'l7mp-controller', spec: { protocol: 'L7mpController' } } },
              },
            },
          ],
        },
        {
          name: 'prometheus',
          spec: { protocol: 'HTTP', port: 8080 },
          rules: [
            {
              match: { op: 'starts', path: '/HTTP/url/path', value: '/metrics' },
              action: { route: { destination: { spec: { protocol: 'Prometheus' } } } },
            },
          ],
        },
      ],
      clusters: [
        { name: 'stdio', spec: { protocol: 'Stdio' } },
        { name: 'logger', spec: { protocol: 'Logger' } },
      ],
    });
    expect(config.listeners).toHaveLength(2);
    expect(config.rules).toEqual([]);
  });
});

describe('defaults and normal forms', () => {
  it.each([
    [{ retry_on: 'always' }, { retry_on: 'always', num_retries: 1, timeout: 2000 }],
    [{ num_retries: 3 }, { retry_on: 'never', num_retries: 3, timeout: 2000 }],
    [{ timeout: 100 }, { retry_on: 'never', num_retries: 1, timeout: 100 }],
    [undefined, { retry_on: 'never', num_retries: 1, timeout: 2000 }],
  ])('retry %j gets per-field defaults %j', (retry, expected) => {
    expect(parseWith(RouteSchema, { destination: 'c', ...(retry ? { retry } : {}) }).retry).toEqual(expected);
  });

  it('maps the legacy "cluster" alias to destination', () => {
    const route = parseWith(RouteSchema, { name: 'r', cluster: 'c' });
    expect(route.destination).toBe('c');
    expect(route).not.toHaveProperty('cluster');
  });

  it.each([
    [
      'listener',
      ListenerSchema,
      { spec: { UDP: { port: 9001 } }, rules: 'x' },
      { spec: { protocol: 'UDP', port: 9001 } },
    ],
    [
      'listener',
      ListenerSchema,
      { spec: { protocol: 'UDP', port: 9001 }, rules: 'x' },
      { spec: { protocol: 'UDP', port: 9001 } },
    ],
    [
      'cluster',
      ClusterSchema,
      { spec: { WebSocket: { port: 8888 } } },
      { spec: { protocol: 'WebSocket', port: 8888 } },
    ],
    ['cluster', ClusterSchema, { spec: { Sdtio: {} } }, { spec: { protocol: 'Stdio' } }],
    ['cluster', ClusterSchema, { spec: { Echo: null } }, { spec: { protocol: 'Echo' } }],
    [
      'cluster',
      ClusterSchema,
      { spec: { JSONSocket: { transport_spec: { UDP: { port: 5 } } } } },
      { spec: { protocol: 'JSONSocket', transport: { protocol: 'UDP', port: 5 } } },
    ],
  ])('normalises both protocol spellings of a %s to the proxy form', (_kind, schema, input, expected) => {
    expect(parseWith(schema, input)).toMatchObject(expected);
  });

  it('strips unknown spec fields and fills listener options', () => {
    expect(parseWith(ListenerSchema, { spec: { protocol: 'TCP', port: 1, bogus: 1 }, rules: [] })).toEqual({
      spec: { protocol: 'TCP', port: 1 },
      rules: [],
      options: { track: 0 },
    });
  });

  it('normalises endpoints: top-level or spec weight, filename as address', () => {
    expect(parseWith(EndpointSchema, { spec: { filename: '/s', weight: 4 } })).toEqual({
      spec: { address: '/s' },
      weight: 4,
    });
    expect(parseWith(EndpointSchema, { spec: { address: 'a' } })).toEqual({
      spec: { address: 'a' },
      weight: 1,
    });
  });

  it('turns a wildcard match into no predicate', () => {
    expect(
      parseWith(NamedRuleSchema, { name: 'r', match: 'x', action: { route: 'r' } }).match,
    ).toBeUndefined();
  });
});
