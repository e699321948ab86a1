import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  ConfigValidationError,
  CrdConversionError,
  crdListenerToProxy,
  crdRouteToProxy,
  toStructuralSchema,
  formatIssue,
  parseListener,
  parseManifest,
  ruleResourceToProxy,
  SelectorSchema,
  targetToProxy,
  validateManifest,
  virtualServiceToProxy,
  type L7mpResource,
  type Target,
  type VirtualService,
} from '@l7mp/config';

const vsvc = (listener: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'l7mp.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'gw', namespace: 'default' },
  spec: { selector: { matchLabels: { app: 'l7mp-ingress' } }, listener, ...extra },
});
const target = (spec: Record<string, unknown>, name = 't') => ({
  apiVersion: 'l7mp.io/v1',
  kind: 'Target',
  metadata: { name, namespace: 'default' },
  spec: { selector: {}, ...spec },
});
const udpToTarget = (route: Record<string, unknown> = { destinationRef: 'udp-cluster' }) => ({
  spec: { UDP: { port: 9001 } },
  rules: [{ action: { route } }],
});
const issues = (doc: unknown) => validateManifest(doc).map(formatIssue);

const asVirtualService = (r: L7mpResource): VirtualService => {
  if (r.kind !== 'VirtualService') throw new Error(`expected a VirtualService, got ${r.kind}`);
  return r;
};
const asTarget = (r: L7mpResource): Target => {
  if (r.kind !== 'Target') throw new Error(`expected a Target, got ${r.kind}`);
  return r;
};

describe('validateManifest: bad inputs', () => {
  it.each<[string, unknown, string[]]>([
    ['a scalar document', 'hello', ['expected a Kubernetes object (a mapping), got "hello"']],
    [
      'a wrong apiVersion and kind',
      { apiVersion: 'l7mp.io/v2', kind: 'Route', metadata: { name: 'x' }, spec: {} },
      [
        'apiVersion: expected "l7mp.io/v1", got "l7mp.io/v2"',
        'kind: expected one of VirtualService, Target, Rule, got "Route"',
      ],
    ],
    ['a missing metadata', { ...vsvc(udpToTarget()), metadata: undefined }, ['metadata: required']],
    [
      'an invalid name',
      { ...vsvc(udpToTarget()), metadata: { name: 'Gateway_VSVC' } },
      [
        'metadata.name: expected a DNS subdomain name (lowercase letters, digits, "-", "."), got "Gateway_VSVC"',
      ],
    ],
    [
      'a bad selector operator',
      vsvc(udpToTarget(), {
        selector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] },
      }),
      [
        'spec.selector.matchExpressions[0].operator: unknown operator "Equals", expected one of In, NotIn, Exists, DoesNotExist',
      ],
    ],
    [
      'In without values',
      vsvc(udpToTarget(), { selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }),
      ['spec.selector.matchExpressions[0].values: operator In needs at least one value'],
    ],
    [
      'Exists with values',
      vsvc(udpToTarget(), {
        selector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] },
      }),
      ['spec.selector.matchExpressions[0].values: operator Exists takes no values'],
    ],
    [
      'Gt with a non-integer',
      vsvc(udpToTarget(), {
        selector: { matchFields: [{ key: 'metadata.generation', operator: 'Gt', values: ['x'] }] },
      }),
      ['spec.selector.matchFields[0].values: operator Gt needs exactly one integer value, got ["x"]'],
    ],
    [
      'Gt in matchExpressions (fields only)',
      vsvc(udpToTarget(), { selector: { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] } }),
      [
        'spec.selector.matchExpressions[0].operator: unknown operator "Gt", expected one of In, NotIn, Exists, DoesNotExist',
      ],
    ],
    [
      'a listener with both rules and rulesRef',
      vsvc({ ...udpToTarget(), rulesRef: 'my-rules' }),
      ['spec.listener: "rules", "rulesRef" exclude each other: give only one'],
    ],
    [
      'a listener with neither rules nor rulesRef',
      vsvc({ spec: { UDP: { port: 9001 } } }),
      ['spec.listener: needs exactly one of "rules", "rulesRef"'],
    ],
    ['a missing listener', vsvc(undefined), ['spec.listener: required']],
    [
      'a port out of range',
      vsvc({ ...udpToTarget(), spec: { UDP: { port: 70000 } } }),
      ['spec.listener.spec.UDP.port: expected an integer 0-65535, got 70000'],
    ],
    [
      'a port that is not a number',
      vsvc({ ...udpToTarget(), spec: { UDP: { port: 'abc' } } }),
      ['spec.listener.spec.UDP.port: expected an integer 0-65535, got "abc"'],
    ],
    [
      'a bad port inside a JSONSocket transport',
      vsvc({ ...udpToTarget(), spec: { JSONSocket: { transport: { UDP: { port: -5 } } } } }),
      ['spec.listener.spec.JSONSocket.transport.UDP.port: expected an integer 0-65535, got -5'],
    ],
    [
      'the proxy spelling of a protocol spec',
      vsvc({ ...udpToTarget(), spec: { protocol: 'UDP', port: 9001 } }),
      [
        'spec.listener.spec: write the listener spec as {<protocol>: {...}} (e.g. {UDP: {port: 9001}}), not with a "protocol" key',
      ],
    ],
    [
      'an unknown protocol',
      vsvc({ ...udpToTarget(), spec: { QUIC: { port: 1 } } }),
      [
        'spec.listener.spec.QUIC: unknown listener protocol "QUIC", expected one of HTTP, WebSocket, UDP, TCP, UnixDomainSocket, JSONSocket',
      ],
    ],
    [
      'a protocol spec that is not an object',
      vsvc({ ...udpToTarget(), spec: 'UDP' }),
      ['spec.listener.spec: expected a listener protocol spec such as {UDP: {port: 9001}}, got "UDP"'],
    ],
    [
      'an empty protocol spec',
      vsvc({ ...udpToTarget(), spec: {} }),
      [
        'spec.listener.spec: needs exactly one protocol key, one of HTTP, WebSocket, UDP, TCP, UnixDomainSocket, JSONSocket',
      ],
    ],
    [
      'protocol settings that are not an object',
      target({ cluster: { spec: { UDP: 9999 } } }),
      ['spec.cluster.spec.UDP: expected an object with the UDP settings, got 9999'],
    ],
    [
      'a cluster with both endpoints and endpointNum',
      target({ cluster: { spec: { UDP: { port: 1 } }, endpoints: [], endpointNum: 0 } }),
      ['spec.cluster: "endpoints", "endpointNum" exclude each other: give only one'],
    ],
    [
      'two protocols',
      vsvc({ ...udpToTarget(), spec: { UDP: { port: 1 }, TCP: { port: 2 } } }),
      ['spec.listener.spec: needs exactly one protocol key, got "UDP", "TCP"'],
    ],
    [
      'a Target with neither cluster nor linkedVirtualService',
      target({}),
      ['spec: a Target needs exactly one of "cluster", "linkedVirtualService"'],
    ],
    [
      'a Target with both cluster and linkedVirtualService',
      target({ cluster: { spec: { UDP: { port: 1 } } }, linkedVirtualService: 'gw' }),
      ['spec: a Target needs exactly one of "cluster", "linkedVirtualService"'],
    ],
    [
      'a Target loadbalancer next to its cluster',
      target({ cluster: { spec: { UDP: { port: 1 } } }, loadbalancer: { policy: 'ConsistentHash' } }),
      ['spec: "loadbalancer" belongs into "cluster" when the Target has a cluster'],
    ],
    [
      'an endpoint with neither spec nor selector',
      target({ cluster: { spec: { UDP: { port: 1 } }, endpoints: [{ name: 'e' }] } }),
      ['spec.cluster.endpoints[0]: an endpoint needs a "spec" (static) or a "selector" (dynamic)'],
    ],
    [
      'an endpoint spec with both address and filename',
      target({
        cluster: { spec: { UDP: { port: 1 } }, endpoints: [{ spec: { address: 'a', filename: '/f' } }] },
      }),
      ['spec.cluster.endpoints[0].spec: an endpoint spec needs exactly one of "address", "filename"'],
    ],
    [
      'a malformed destinationRef',
      vsvc(udpToTarget({ destinationRef: '/apis/l7mp.io/v1/namespaces/default/pods/udp-cluster' })),
      [
        'spec.listener.rules[0].action.route.destinationRef: invalid reference "/apis/l7mp.io/v1/namespaces/default/pods/udp-cluster": unknown resource "pods", expected one of virtualservices, targets, rules',
      ],
    ],
    [
      'a clusterRef naming a VirtualService',
      vsvc(
        udpToTarget({
          destinationRef: 'x',
          ingress: [{ clusterRef: '/l7mp.io/v1/VirtualService/default/gw' }],
        }),
      ),
      [
        'spec.listener.rules[0].action.route.ingress[0].clusterRef: invalid reference "/l7mp.io/v1/VirtualService/default/gw": must name a Target, not a VirtualService',
      ],
    ],
    [
      'a malformed linkedVirtualService',
      target({ linkedVirtualService: '/l7mp.io/v1/Target/default/x' }),
      [
        'spec.linkedVirtualService: invalid reference "/l7mp.io/v1/Target/default/x": must name a VirtualService, not a Target',
      ],
    ],
    [
      'a route with both destination and destinationRef',
      vsvc(udpToTarget({ destinationRef: 'a', destination: { spec: { Echo: {} } } })),
      [
        'spec.listener.rules[0].action.route: "destination", "destinationRef" exclude each other: give only one',
      ],
    ],
    [
      'a rewrite with both value and valueStr',
      vsvc({
        ...udpToTarget(),
        rules: [{ action: { apply: 'x', rewrite: [{ path: '/a', value: 1, valueStr: '1' }] } }],
      }),
      ['spec.listener.rules[0].action.rewrite[0]: "value", "valueStr" exclude each other: give only one'],
    ],
    [
      'an action that does nothing',
      vsvc({ ...udpToTarget(), rules: [{ action: {} }] }),
      ['spec.listener.rules[0].action: an action needs a "route", "routeRef" or "apply"'],
    ],
    [
      'a bad match predicate',
      vsvc({
        ...udpToTarget(),
        rules: [{ match: { op: 'equals', path: '/a', value: 1 }, action: { apply: 'x' } }],
      }),
      [
        'spec.listener.rules[0].match.op: unknown predicate op "equals", expected one of contains, defined, undefined, starts, ends, less, more, in, test, matches, type, contained, intersects, and, or, not',
      ],
    ],
    [
      'a bad retry policy',
      vsvc(udpToTarget({ destinationRef: 'a', retry: { retry_on: 'sometimes' } })),
      [
        'spec.listener.rules[0].action.route.retry.retry_on: expected one of never, connect-failure, disconnect, always, got "sometimes"',
      ],
    ],
    [
      'a Rule without rulelist and rule',
      { apiVersion: 'l7mp.io/v1', kind: 'Rule', metadata: { name: 'r' }, spec: { position: -1 } },
      [
        'spec.rulelist: required',
        'spec.position: expected a non-negative integer, got -1',
        'spec.rule: required',
      ],
    ],
    [
      'unknown fields the API server would prune',
      vsvc({ ...udpToTarget(), colour: 'red' }, { updateOwner: true }),
      [
        'spec.listener.colour: unknown field: the API server would drop it',
        'spec.updateOwner: unknown field: the API server would drop it',
      ],
    ],
  ])('reports %s', (_, doc, expected) => {
    expect(issues(doc)).toEqual(expected);
  });

  it('reports every problem of a manifest at once', () => {
    const doc = vsvc(
      { spec: { UDP: { port: -5 } }, rules: [], rulesRef: 'x' },
      { selector: { matchLabels: { app: 1 } } },
    );
    expect(issues(doc)).toEqual([
      'spec.selector.matchLabels.app: expected a string, got 1',
      'spec.listener.spec.UDP.port: expected an integer 0-65535, got -5',
      'spec.listener: "rules", "rulesRef" exclude each other: give only one',
    ]);
  });

  it('parseManifest throws all issues as one ConfigValidationError', () => {
    expect(() => parseManifest(target({}))).toThrow(ConfigValidationError);
    expect(() => parseManifest(target({}))).toThrow(
      'invalid l7mp.io/v1 manifest: spec: a Target needs exactly one of "cluster", "linkedVirtualService"',
    );
  });
});

describe('selectors', () => {
  it('accepts the anchor misspelling DoesNotexist and normalises it', () => {
    const doc = vsvc(udpToTarget(), {
      selector: { matchExpressions: [{ key: 'canary', operator: 'DoesNotexist' }] },
    });
    expect(validateManifest(doc)).toEqual([]);
    const parsed = asVirtualService(parseManifest(doc));
    expect(parsed.spec.selector.matchExpressions).toEqual([{ key: 'canary', operator: 'DoesNotExist' }]);
  });

  it('accepts every criterion together', () => {
    const selector = {
      matchLabels: { app: 'worker' },
      matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['canary'] }],
      matchFields: [
        { key: 'spec.nodeName', operator: 'In', values: ['node-1'] },
        { key: 'metadata.generation', operator: 'Lt', values: ['10'] },
      ],
      matchNamespace: 'default',
      matchService: 'worker-svc',
    };
    expect(SelectorSchema.parse(selector)).toEqual(selector);
  });
});

describe('conversion beyond the seed', () => {
  const rich = vsvc({
    name: 'ignored',
    spec: { JSONSocket: { transport: { UDP: { port: 19000 } } } },
    options: { track: 60 },
    rules: [
      {
        match: { op: 'starts', path: '/JSON/labels/app', value: 'x' },
        action: {
          rewrite: [
            { path: '/labels/session_id', valueStr: '1' },
            { path: '/labels/obj', value: { a: 1 } },
          ],
          route: {
            destination: {
              spec: { UnixDomainSocket: {} },
              endpoints: [
                { spec: { filename: '/tmp/x.sock' } },
                { selector: { matchLabels: { app: 'uds' } } },
              ],
            },
            ingress: [{ clusterRef: 'logger' }, { cluster: { spec: { Logger: { log_prefix: 'p' } } } }],
            egress: [{ cluster: { spec: { JSONSocket: { transport: { UDP: { port: 1 } } } } } }],
            retry: { retry_on: 'always', num_retries: 3 },
          },
        },
      },
      { action: { routeRef: 'shared-route' } },
    ],
  });

  it('converts every kind of field to the proxy form', () => {
    const { listener, endpointSelectors } = virtualServiceToProxy(asVirtualService(parseManifest(rich)));
    const destinationName =
      '/l7mp.io/v1/VirtualService/default/gw/spec/listener/rules/0/action/route/destination';
    expect(listener).toEqual({
      name: '/l7mp.io/v1/VirtualService/default/gw',
      spec: { protocol: 'JSONSocket', transport: { protocol: 'UDP', port: 19000 } },
      options: { track: 60 },
      rules: [
        {
          match: { op: 'starts', path: '/JSON/labels/app', value: 'x' },
          action: {
            rewrite: [
              { path: '/labels/session_id', value: '1' },
              { path: '/labels/obj', value: { a: 1 } },
            ],
            route: {
              destination: {
                name: destinationName,
                spec: { protocol: 'UnixDomainSocket' },
                endpoints: [{ spec: { address: '/tmp/x.sock' } }],
              },
              ingress: [
                '/l7mp.io/v1/Target/default/logger',
                { spec: { protocol: 'Logger', log_prefix: 'p' }, endpoints: [] },
              ],
              egress: [
                { spec: { protocol: 'JSONSocket', transport: { protocol: 'UDP', port: 1 } }, endpoints: [] },
              ],
              retry: { retry_on: 'always', num_retries: 3 },
            },
          },
        },
        { action: { route: 'shared-route' } },
      ],
    });
    expect(endpointSelectors).toEqual([
      {
        cluster: destinationName,
        selector: { matchLabels: { app: 'uds' } },
        source: '/l7mp.io/v1/VirtualService/default/gw',
        namespace: 'default',
        path: ['spec', 'listener', 'rules', 0, 'action', 'route', 'destination', 'endpoints', 1, 'selector'],
      },
    ]);
    const parsed = parseListener(listener);
    expect(parsed.options.track).toBe(60);
  });

  it('turns rulesRef into the rules string', () => {
    const { listener } = virtualServiceToProxy(
      asVirtualService(parseManifest(vsvc({ spec: { TCP: { port: 80 } }, rulesRef: 'shared-rules' }))),
    );
    expect(listener).toEqual({
      name: '/l7mp.io/v1/VirtualService/default/gw',
      spec: { protocol: 'TCP', port: 80 },
      rules: 'shared-rules',
    });
  });

  it('converts a Rule resource into a named rule for a rulelist position', () => {
    const rule = parseManifest({
      apiVersion: 'l7mp.io/v1',
      kind: 'Rule',
      metadata: { name: 'canary', namespace: 'prod' },
      spec: {
        selector: { matchLabels: { app: 'l7mp-ingress' } },
        rulelist: '/l7mp.io/v1/VirtualService/prod/gw-RuleList-0',
        position: 1,
        rule: { action: { route: { destinationRef: 'canary-cluster' } } },
      },
    });
    if (rule.kind !== 'Rule') throw new Error('expected a Rule');
    expect(ruleResourceToProxy(rule)).toEqual({
      rulelist: '/l7mp.io/v1/VirtualService/prod/gw-RuleList-0',
      position: 1,
      rule: {
        name: '/l7mp.io/v1/Rule/prod/canary',
        action: { route: { destination: '/l7mp.io/v1/Target/prod/canary-cluster' } },
      },
      endpointSelectors: [],
    });
  });

  it('gives a Target with linkedVirtualService its own load balancer', () => {
    const linked = asVirtualService(
      parseManifest(vsvc({ spec: { WebSocket: { port: 8888, path: '/ws' } }, rulesRef: 'r' })),
    );
    const t = asTarget(
      parseManifest(
        target({
          linkedVirtualService: 'gw',
          loadbalancer: { policy: 'ConsistentHash', key: '/IP/src_addr' },
        }),
      ),
    );
    expect(targetToProxy(t, { linkedVirtualService: linked }).cluster).toEqual({
      name: '/l7mp.io/v1/Target/default/t',
      spec: { protocol: 'WebSocket', port: 8888, path: '/ws' },
      endpoints: [],
      loadbalancer: { policy: 'ConsistentHash', key: '/IP/src_addr' },
    });
  });

  it('refuses a linked VirtualService that is missing, another one, or not reachable from a pod', () => {
    const t = asTarget(parseManifest(target({ linkedVirtualService: 'gw' })));
    expect(() => targetToProxy(t)).toThrow(
      new CrdConversionError('the linked VirtualService "gw" was not given', [
        'spec',
        'linkedVirtualService',
      ]),
    );
    const other = asVirtualService(
      parseManifest({ ...vsvc(udpToTarget()), metadata: { name: 'other', namespace: 'default' } }),
    );
    expect(() => targetToProxy(t, { linkedVirtualService: other })).toThrow(
      'spec.linkedVirtualService: got VirtualService default/other for the link to default/gw',
    );
    const http = asVirtualService(parseManifest(vsvc({ spec: { HTTP: { port: 80 } }, rulesRef: 'r' })));
    expect(() => targetToProxy(t, { linkedVirtualService: http })).toThrow(
      'spec.linkedVirtualService: a HTTP listener cannot be the cluster of a Target: no cluster protocol reaches it from another pod',
    );
  });
});

describe('conversion of hand-built objects the schema would have refused', () => {
  const ctx = {
    namespace: 'default',
    path: ['spec', 'listener'],
    owner: '/l7mp.io/v1/VirtualService/default/gw',
    endpointSelectors: [],
  };

  it('throws a CrdConversionError naming the place', () => {
    expect(() =>
      crdListenerToProxy({ spec: { protocol: 'UDP', port: 1 }, updateOwners: false } as never, ctx),
    ).toThrow(new CrdConversionError('needs "rules" or "rulesRef"', ['spec', 'listener']));
    expect(() => crdRouteToProxy({}, ctx)).toThrow('spec.listener: needs "destination" or "destinationRef"');
    expect(() => crdRouteToProxy({ destinationRef: 'a', ingress: [{}] }, ctx)).toThrow(
      'spec.listener.ingress[0]: needs "cluster" or "clusterRef"',
    );
    const t = asTarget(parseManifest(target({ cluster: { spec: { Echo: {} } } })));
    expect(() => targetToProxy({ ...t, spec: { ...t.spec, cluster: undefined } })).toThrow(
      'spec: a Target needs "cluster" or "linkedVirtualService"',
    );
  });

  it('refuses a JSONSocket over a Unix socket as a linked cluster', () => {
    const t = asTarget(parseManifest(target({ linkedVirtualService: 'gw' })));
    const jsonUds = asVirtualService(
      parseManifest(
        vsvc({
          spec: { JSONSocket: { transport: { UnixDomainSocket: { filename: '/s' } } } },
          rulesRef: 'r',
        }),
      ),
    );
    expect(() => targetToProxy(t, { linkedVirtualService: jsonUds })).toThrow(
      'a UnixDomainSocket listener cannot be the cluster of a Target',
    );
    const jsonTcp = asVirtualService(
      parseManifest(vsvc({ spec: { JSONSocket: { transport: { TCP: { port: 7 } } } }, rulesRef: 'r' })),
    );
    expect(targetToProxy(t, { linkedVirtualService: jsonTcp }).cluster.spec).toEqual({
      protocol: 'JSONSocket',
      transport: { protocol: 'TCP', port: 7 },
    });
  });
});

describe('CRD schema rendering', () => {
  it('refuses zod nodes it cannot express', () => {
    expect(() => toStructuralSchema(z.object({ when: z.date() }))).toThrow(
      'cannot render a zod "date" node as a CRD schema',
    );
  });

  it('merges object unions and keeps mixed unions as free-form values', () => {
    expect(toStructuralSchema(z.union([z.object({ a: z.string() }), z.object({ b: z.int() })]))).toEqual({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'integer' } },
    });
    expect(toStructuralSchema(z.union([z.string(), z.object({})]))).toEqual({
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });
});
