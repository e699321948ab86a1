import { describe, expect, it } from '@jest/globals';
import {
  crdOpenApiSchema,
  parseCluster,
  parseListener,
  parseManifest,
  prunedFields,
  targetToProxy,
  validateManifest,
  virtualServiceToProxy,
  type L7mpResource,
  type Target,
  type VirtualService,
} from '@l7mp/config';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const task1 = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/task1');
const SEED_FILES = [
  'uds-cluster.yaml',
  'transcoder-vsvc.yaml',
  'ws-svc.yaml',
  'websocket-cluster.yaml',
  'udp-cluster.yaml',
  'gateway-vsvc.yaml',
] as const;

const load = (file: string): unknown => parse(readFileSync(path.join(task1, file), 'utf8'));
const resource = (file: (typeof SEED_FILES)[number]): L7mpResource => parseManifest(load(file));
const asTarget = (r: L7mpResource): Target => {
  if (r.kind !== 'Target') throw new Error(`expected a Target, got ${r.kind}`);
  return r;
};
const asVirtualService = (r: L7mpResource): VirtualService => {
  if (r.kind !== 'VirtualService') throw new Error(`expected a VirtualService, got ${r.kind}`);
  return r;
};

describe('the seed (task1) manifests', () => {
  it.each(SEED_FILES)('%s validates without a single issue', (file) => {
    expect(validateManifest(load(file))).toEqual([]);
  });

  it.each(SEED_FILES)('%s loses no field to API server pruning under the generated CRD', (file) => {
    const doc = load(file) as { kind: 'VirtualService' | 'Target' | 'Rule' };
    expect(prunedFields(doc, crdOpenApiSchema(doc.kind))).toEqual([]);
  });

  it('keeps the fields the anchor CRD pruned or rejected', () => {
    const target = crdOpenApiSchema('Target');
    const cluster = target.properties?.spec?.properties?.cluster;
    expect(cluster?.properties?.spec?.properties?.UnixDomainSocket?.properties?.filename?.type).toBe(
      'string',
    );
    expect(cluster?.properties?.endpoints?.items?.properties?.spec?.properties?.filename?.type).toBe(
      'string',
    );
    const selector = target.properties?.spec?.properties?.selector;
    expect(selector?.properties?.matchExpressions?.items?.properties?.operator?.enum).toEqual(
      expect.arrayContaining(['In', 'DoesNotExist', 'DoesNotexist']),
    );
  });

  it('uds-cluster: a UnixDomainSocket cluster whose endpoint filename becomes the address', () => {
    const converted = targetToProxy(asTarget(resource('uds-cluster.yaml')));
    expect(converted).toEqual({
      cluster: {
        name: '/l7mp.io/v1/Target/default/uds-cluster',
        spec: { protocol: 'UnixDomainSocket', filename: '/tmp/uds-echo.sock' },
        endpoints: [{ spec: { address: '/tmp/uds-echo.sock' } }],
      },
      staticEndpoints: [{ spec: { address: '/tmp/uds-echo.sock' } }],
      endpointSelectors: [],
    });
    expect(parseCluster(converted.cluster).endpoints[0]?.spec.address).toBe('/tmp/uds-echo.sock');
  });

  it('transcoder-vsvc: a WebSocket listener routing to the uds-cluster Target (selfLink reference)', () => {
    const { listener, endpointSelectors } = virtualServiceToProxy(
      asVirtualService(resource('transcoder-vsvc.yaml')),
    );
    expect(listener).toEqual({
      name: '/l7mp.io/v1/VirtualService/default/transcoder-vsvc',
      spec: { protocol: 'WebSocket', port: 8888 },
      rules: [{ action: { route: { destination: '/l7mp.io/v1/Target/default/uds-cluster' } } }],
    });
    expect(endpointSelectors).toEqual([]);
    expect(parseListener(listener).spec).toEqual({ protocol: 'WebSocket', port: 8888 });
  });

  it('ws-svc: a cluster derived from the linked VirtualService, its pods as dynamic endpoints', () => {
    const target = asTarget(resource('ws-svc.yaml'));
    const converted = targetToProxy(target, {
      linkedVirtualService: asVirtualService(resource('transcoder-vsvc.yaml')),
    });
    expect(converted.cluster).toEqual({
      name: '/l7mp.io/v1/Target/default/ws-svc',
      spec: { protocol: 'WebSocket', port: 8888 },
      endpoints: [],
    });
    expect(converted.endpointSelectors).toEqual([
      {
        cluster: '/l7mp.io/v1/Target/default/ws-svc',
        selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['transcoder'] }] },
        source: '/l7mp.io/v1/VirtualService/default/transcoder-vsvc',
        namespace: 'default',
        path: ['spec', 'selector'],
      },
    ]);
    expect(parseCluster(converted.cluster).spec).toEqual({ protocol: 'WebSocket', port: 8888 });
  });

  it.each([
    [
      'websocket-cluster.yaml',
      'websocket-cluster',
      { protocol: 'WebSocket', port: 8888 },
      { app: 'transcoder' },
    ],
    ['udp-cluster.yaml', 'udp-cluster', { protocol: 'UDP', port: 9999 }, { app: 'worker' }],
  ] as const)(
    '%s: a ConsistentHash cluster whose endpoints are selected pods',
    (file, name, spec, labels) => {
      const converted = targetToProxy(asTarget(resource(file)));
      const clusterName = `/l7mp.io/v1/Target/default/${name}`;
      expect(converted.cluster).toEqual({
        name: clusterName,
        spec,
        endpoints: [],
        loadbalancer: { policy: 'ConsistentHash' },
      });
      expect(converted.endpointSelectors).toEqual([
        {
          cluster: clusterName,
          selector: { matchLabels: labels },
          source: clusterName,
          namespace: 'default',
          path: ['spec', 'cluster', 'endpoints', 0, 'selector'],
        },
      ]);
      expect(parseCluster(converted.cluster).loadbalancer).toEqual({ policy: 'ConsistentHash' });
    },
  );

  it('gateway-vsvc: UDP 9001 to udp-cluster through the websocket-cluster ingress chain', () => {
    const { listener } = virtualServiceToProxy(asVirtualService(resource('gateway-vsvc.yaml')));
    expect(listener).toEqual({
      name: '/l7mp.io/v1/VirtualService/default/gateway-vsvc',
      spec: { protocol: 'UDP', port: 9001 },
      rules: [
        {
          action: {
            route: {
              destination: '/l7mp.io/v1/Target/default/udp-cluster',
              ingress: ['/l7mp.io/v1/Target/default/websocket-cluster'],
            },
          },
        },
      ],
    });
    const parsed = parseListener(listener);
    expect(parsed.name).toBe('/l7mp.io/v1/VirtualService/default/gateway-vsvc');
  });

  it('uses the namespace of the manifest for names and bare references', () => {
    const doc = load('gateway-vsvc.yaml') as {
      metadata: Record<string, unknown>;
      spec: { listener: { rules: { action: { route: Record<string, unknown> } }[] } };
    };
    doc.metadata.namespace = 'games';
    const route = doc.spec.listener.rules[0]?.action.route;
    if (route === undefined) throw new Error('the seed gateway has a route');
    route.destinationRef = 'udp-cluster';
    const { listener } = virtualServiceToProxy(asVirtualService(parseManifest(doc)));
    expect(listener.name).toBe('/l7mp.io/v1/VirtualService/games/gateway-vsvc');
    expect(listener.rules).toEqual([
      {
        action: {
          route: {
            destination: '/l7mp.io/v1/Target/games/udp-cluster',
            ingress: ['/l7mp.io/v1/Target/default/websocket-cluster'],
          },
        },
      },
    ]);
  });
});
