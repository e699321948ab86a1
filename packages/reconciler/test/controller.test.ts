import { afterEach, describe, expect, it } from '@jest/globals';
import { createReconciler, type Reconciler } from '../src';
import {
  DevApiServer,
  kubeConfigFor,
  names,
  podBody,
  startProxy,
  task1Manifests,
  waitFor,
  type TestProxy,
} from './support';

const UDP = '/l7mp.io/v1/Target/default/udp-cluster';

const WS = '/l7mp.io/v1/Target/default/websocket-cluster';

interface Env {
  server: DevApiServer;
  url: string;
  proxies: TestProxy[];
  reconcilers: Reconciler[];
}
let env: Env | undefined;

async function setup(): Promise<Env> {
  const server = new DevApiServer();
  const { url } = await server.start();
  env = { server, url, proxies: [], reconcilers: [] };
  return env;
}

async function reconciler(
  e: Env,
  extra: Partial<Parameters<typeof createReconciler>[0]> = {},
): Promise<Reconciler> {
  const r = createReconciler({
    kubeConfig: kubeConfigFor(e.url),
    namespaces: ['default'],
    resyncPeriodMs: 60_000,
    informerRestartDelayMs: 50,
    backoff: { initialMs: 50, maxMs: 400 },
    requestTimeoutMs: 1000,
    ...extra,
  });
  e.reconcilers.push(r);
  await r.start();
  return r;
}

async function proxyPod(
  e: Env,
  name: string,
  ip: string,
  labels: Record<string, string>,
): Promise<TestProxy> {
  const p = await startProxy();
  e.proxies.push(p);
  e.server.create('v1', 'pods', podBody({ name, ip, labels, apiAddress: p.address }));
  return p;
}

const endpointsOf = async (p: TestProxy, cluster: string) =>
  (await p.config()).clusters
    .find((c) => c.name === cluster)
    ?.endpoints.map((ep) => ep.name)
    .sort();

const target = (
  name: string,
  port: number,
  selector: Record<string, unknown>,
  endpoints: Record<string, unknown>,
) => ({
  apiVersion: 'l7mp.io/v1',
  kind: 'Target',
  metadata: { name, namespace: 'default' },
  spec: { selector, cluster: { spec: { UDP: { port } }, endpoints: [{ selector: endpoints }] } },
});

afterEach(async () => {
  if (env === undefined) return;
  for (const r of env.reconcilers) await r.stop();
  for (const p of env.proxies) await p.close();
  await env.server.stop();
  env = undefined;
});

describe('reconciler against the dev API server and real proxies', () => {
  it('programs the seed task1 CRs verbatim', async () => {
    const e = await setup();
    for (const m of task1Manifests()) e.server.create('l7mp.io/v1', `${String(m.kind).toLowerCase()}s`, m);
    const ingress = await proxyPod(e, 'ingress-0', '10.0.0.1', { app: 'l7mp-ingress' });
    const transcoder = await proxyPod(e, 'transcoder-0', '10.0.0.11', { app: 'transcoder' });
    e.server.create('v1', 'pods', podBody({ name: 'worker-0', ip: '10.0.0.21', labels: { app: 'worker' } }));
    e.server.create('v1', 'pods', podBody({ name: 'worker-1', ip: '10.0.0.22', labels: { app: 'worker' } }));
    await reconciler(e);

    const ingressConfig = await waitFor('ingress programmed', async () => {
      const c = await ingress.config();
      return c.listeners.some((l) => l.name === '/l7mp.io/v1/VirtualService/default/gateway-vsvc') &&
        (await endpointsOf(ingress, UDP))?.length === 2
        ? c
        : undefined;
    });
    const udp = ingressConfig.clusters.find((c) => c.name === UDP);
    expect(udp?.loadbalancer?.policy).toBe('ConsistentHash');
    expect(await endpointsOf(ingress, UDP)).toEqual([`${UDP}/10.0.0.21`, `${UDP}/10.0.0.22`]);
    expect(await endpointsOf(ingress, WS)).toEqual([`${WS}/10.0.0.11`]);
    expect(await endpointsOf(ingress, '/l7mp.io/v1/Target/default/ws-svc')).toEqual([
      '/l7mp.io/v1/Target/default/ws-svc/10.0.0.11',
    ]);
    expect(
      ingressConfig.listeners.find((l) => l.name === '/l7mp.io/v1/VirtualService/default/gateway-vsvc')?.spec,
    ).toMatchObject({ protocol: 'UDP', port: 9001 });
    // The route goes through the WebSocket cluster to the UDP cluster, named canonically.
    const routes = ingressConfig.routes.filter((r) =>
      r.name.startsWith('/l7mp.io/v1/VirtualService/default/gateway-vsvc'),
    );
    expect(routes[0]).toMatchObject({ destination: UDP, ingress: [WS] });
    // The static controller listener is left alone.
    expect(ingressConfig.listeners.some((l) => l.name === 'controller-listener')).toBe(true);

    const tc = await waitFor('transcoder programmed', async () => {
      const c = await transcoder.config();
      return c.clusters.some((cl) => cl.name === '/l7mp.io/v1/Target/default/uds-cluster') ? c : undefined;
    });
    // The seed's WebSocket listener binds port 8888 on the transcoder's own address.
    await waitFor('transcoder listener', async () =>
      (await transcoder.config()).listeners.some(
        (l) => l.name === '/l7mp.io/v1/VirtualService/default/transcoder-vsvc',
      )
        ? true
        : undefined,
    );
    expect(
      tc.clusters.find((c) => c.name === '/l7mp.io/v1/Target/default/uds-cluster')?.endpoints[0]?.spec
        .address,
    ).toBe('/tmp/uds-echo.sock');
    expect(tc.clusters.some((c) => c.name === UDP)).toBe(false);

    // Status conditions reach every CR.
    const status = await waitFor('gateway-vsvc Programmed', () => {
      const o = e.server.get('l7mp.io/v1', 'virtualservices', 'default', 'gateway-vsvc') as
        { status?: { conditions?: { type: string; status: string; message?: string }[] } } | undefined;
      const p = o?.status?.conditions?.find((c) => c.type === 'Programmed');
      return p?.status === 'True' ? o?.status : undefined;
    });
    expect(status.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('True');
    expect(status.conditions?.find((c) => c.type === 'Programmed')?.message).toContain(
      '1/1 proxies programmed',
    );
  });

  it('follows worker pods: new Ready pod added, NotReady and deleted pods removed', async () => {
    const e = await setup();
    const ingress = await proxyPod(e, 'ingress-0', '10.0.0.1', { app: 'l7mp-ingress' });
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target(
        'udp-cluster',
        9999,
        { matchLabels: { app: 'l7mp-ingress' } },
        { matchLabels: { app: 'worker' } },
      ),
    );
    e.server.create('v1', 'pods', podBody({ name: 'worker-0', ip: '10.0.0.21', labels: { app: 'worker' } }));
    await reconciler(e);
    await waitFor('first worker', async () =>
      (await endpointsOf(ingress, UDP))?.length === 1 ? true : undefined,
    );
    e.server.create('v1', 'pods', podBody({ name: 'worker-1', ip: '10.0.0.22', labels: { app: 'worker' } }));
    e.server.create(
      'v1',
      'pods',
      podBody({ name: 'worker-2', ip: '10.0.0.23', labels: { app: 'worker' }, ready: false }),
    );
    await waitFor('second worker', async () =>
      (await endpointsOf(ingress, UDP))?.length === 2 ? true : undefined,
    );
    expect(await endpointsOf(ingress, UDP)).toEqual([`${UDP}/10.0.0.21`, `${UDP}/10.0.0.22`]);
    e.server.patch(
      'v1',
      'pods',
      'default',
      'worker-0',
      { status: { conditions: [{ type: 'Ready', status: 'False' }] } },
      'status',
    );
    await waitFor('not ready worker removed', async () =>
      (await endpointsOf(ingress, UDP))?.length === 1 ? true : undefined,
    );
    e.server.delete('v1', 'pods', 'default', 'worker-1');
    await waitFor('deleted worker removed', async () =>
      (await endpointsOf(ingress, UDP))?.length === 0 ? true : undefined,
    );
  });

  it('regressions of the original operator: Target change, matchService, new label key, no selector', async () => {
    const e = await setup();
    const ingress = await proxyPod(e, 'ingress-0', '10.0.0.1', { app: 'l7mp-ingress' });
    e.server.create('v1', 'pods', podBody({ name: 'worker-0', ip: '10.0.0.21', labels: { app: 'worker' } }));
    e.server.create('v1', 'pods', podBody({ name: 'other-0', ip: '10.0.0.31', labels: {} }));
    // A Target without selector (the original stopped reconciling everything on it).
    e.server.create('l7mp.io/v1', 'targets', {
      apiVersion: 'l7mp.io/v1',
      kind: 'Target',
      metadata: { name: 'no-selector' },
      spec: { cluster: { spec: { UDP: { port: 1 } } } },
    });
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target(
        'udp-cluster',
        9999,
        { matchLabels: { app: 'l7mp-ingress' } },
        { matchLabels: { app: 'worker' } },
      ),
    );
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target('svc-cluster', 7000, { matchLabels: { app: 'l7mp-ingress' } }, { matchService: 'svc' }),
    );
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target(
        'tier-cluster',
        7001,
        { matchLabels: { app: 'l7mp-ingress' } },
        { matchLabels: { tier: 'gold' } },
      ),
    );
    e.server.create('v1', 'endpoints', {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'svc', namespace: 'default' },
      subsets: [],
    });
    await reconciler(e);
    await waitFor('converged', async () =>
      (await endpointsOf(ingress, UDP))?.length === 1 ? true : undefined,
    );
    const svc = '/l7mp.io/v1/Target/default/svc-cluster';
    const tier = '/l7mp.io/v1/Target/default/tier-cluster';
    expect(await endpointsOf(ingress, svc)).toEqual([]);

    // 1. Changing the Target keeps its dynamic endpoints.
    const t = e.server.get('l7mp.io/v1', 'targets', 'default', 'udp-cluster') as {
      spec: { cluster: { spec: { UDP: { port: number } } } };
    };
    t.spec.cluster.spec.UDP.port = 9998;
    e.server.update('l7mp.io/v1', 'targets', t);
    await waitFor('port changed', async () =>
      ((await ingress.config()).clusters.find((c) => c.name === UDP)?.spec as { port?: number } | undefined)
        ?.port === 9998
        ? true
        : undefined,
    );
    expect(await endpointsOf(ingress, UDP)).toEqual([`${UDP}/10.0.0.21`]);

    // 2. An Endpoints change is seen by a matchService selector.
    const other = e.server.get('v1', 'pods', 'default', 'other-0') as { metadata: { uid: string } };
    e.server.patch('v1', 'endpoints', 'default', 'svc', {
      subsets: [
        {
          addresses: [
            {
              ip: '10.0.0.31',
              targetRef: { kind: 'Pod', name: 'other-0', namespace: 'default', uid: other.metadata.uid },
            },
          ],
        },
      ],
    });
    await waitFor('matchService endpoint', async () =>
      (await endpointsOf(ingress, svc))?.length === 1 ? true : undefined,
    );
    expect(await endpointsOf(ingress, svc)).toEqual([`${svc}/10.0.0.31`]);

    // 3. A label key the pod did not have before is seen.
    e.server.patch('v1', 'pods', 'default', 'other-0', { metadata: { labels: { tier: 'gold' } } });
    await waitFor('new label key', async () =>
      (await endpointsOf(ingress, tier))?.length === 1 ? true : undefined,
    );

    // 4. The Target without selector is accepted and stopped nothing.
    const ns = await waitFor('status of no-selector', () => {
      const o = e.server.get('l7mp.io/v1', 'targets', 'default', 'no-selector') as {
        status?: { conditions?: { type: string; reason?: string }[] };
      };
      return o.status?.conditions?.find((c) => c.type === 'Accepted');
    });
    expect(ns.reason).toBe('NoSelector');
  });

  it('reports an invalid CR without stopping the others', async () => {
    const e = await setup();
    const ingress = await proxyPod(e, 'ingress-0', '10.0.0.1', { app: 'l7mp-ingress' });
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target(
        'udp-cluster',
        9999,
        { matchLabels: { app: 'l7mp-ingress' } },
        { matchLabels: { app: 'worker' } },
      ),
    );
    e.server.create('l7mp.io/v1', 'targets', {
      apiVersion: 'l7mp.io/v1',
      kind: 'Target',
      metadata: { name: 'linked' },
      spec: { selector: { matchLabels: { app: 'l7mp-ingress' } }, linkedVirtualService: 'missing-vsvc' },
    });
    await reconciler(e);
    await waitFor('valid one programmed', async () =>
      (await ingress.config()).clusters.some((c) => c.name === UDP) ? true : undefined,
    );
    const cond = await waitFor('Accepted=False', () => {
      const o = e.server.get('l7mp.io/v1', 'targets', 'default', 'linked') as {
        status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
      };
      return o.status?.conditions?.find((c) => c.type === 'Accepted' && c.status === 'False');
    });
    expect(cond.reason).toBe('LinkedVirtualServiceNotFound');
    expect(cond.message).toContain('missing-vsvc');
    const events = await waitFor('warning event', () => {
      const list = e.server.list('v1', 'events', 'default') as {
        reason?: string;
        involvedObject?: { name?: string };
      }[];
      return list.find((ev) => ev.involvedObject?.name === 'linked');
    });
    expect(events.reason).toBe('LinkedVirtualServiceNotFound');
  });

  it('re-syncs a restarted proxy and survives an operator restart without duplicates', async () => {
    const e = await setup();
    const ingress = await proxyPod(e, 'ingress-0', '10.0.0.1', { app: 'l7mp-ingress' });
    e.server.create('v1', 'pods', podBody({ name: 'worker-0', ip: '10.0.0.21', labels: { app: 'worker' } }));
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target(
        'udp-cluster',
        9999,
        { matchLabels: { app: 'l7mp-ingress' } },
        { matchLabels: { app: 'worker' } },
      ),
    );
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target(
        'gone-cluster',
        9997,
        { matchLabels: { app: 'l7mp-ingress' } },
        { matchLabels: { app: 'worker' } },
      ),
    );
    const first = await reconciler(e);
    await waitFor('programmed', async () =>
      (await ingress.config()).clusters.length >= 3 ? true : undefined,
    );

    // Proxy restart: a new process on the same address, the container's restartCount goes up.
    await ingress.close();
    const restarted = await startProxy({ port: ingress.port, ip: ingress.ip });
    e.proxies.push(restarted);
    expect((await restarted.config()).clusters.some((c) => c.name === UDP)).toBe(false);
    e.server.patch(
      'v1',
      'pods',
      'default',
      'ingress-0',
      {
        status: {
          containerStatuses: [{ name: 'sidecar', ready: true, restartCount: 1, image: 'x', imageID: 'x' }],
        },
      },
      'status',
    );
    await waitFor('restarted proxy re-synced', async () =>
      (await endpointsOf(restarted, UDP))?.length === 1 ? true : undefined,
    );

    // Operator restart, with a CR deleted while it was down.
    await first.stop();
    e.server.delete('l7mp.io/v1', 'targets', 'default', 'gone-cluster');
    await reconciler(e);
    await waitFor('stale cluster removed', async () =>
      (await restarted.config()).clusters.some((c) => c.name === '/l7mp.io/v1/Target/default/gone-cluster')
        ? undefined
        : true,
    );
    const c = await restarted.config();
    expect(names(c.clusters).filter((n) => n === UDP)).toHaveLength(1);
    expect(await endpointsOf(restarted, UDP)).toEqual([`${UDP}/10.0.0.21`]);
  });

  it('recovers from dropped watches and 410 Expired', async () => {
    const e = await setup();
    const ingress = await proxyPod(e, 'ingress-0', '10.0.0.1', { app: 'l7mp-ingress' });
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target(
        'udp-cluster',
        9999,
        { matchLabels: { app: 'l7mp-ingress' } },
        { matchLabels: { app: 'worker' } },
      ),
    );
    await reconciler(e);
    await waitFor('programmed', async () =>
      (await endpointsOf(ingress, UDP)) !== undefined ? true : undefined,
    );
    await waitFor('watches open', () => (e.server.watchCount() >= 5 ? true : undefined));
    e.server.dropWatches({ abrupt: true });
    e.server.create('v1', 'pods', podBody({ name: 'worker-0', ip: '10.0.0.21', labels: { app: 'worker' } }));
    await waitFor('worker after dropped watch', async () =>
      (await endpointsOf(ingress, UDP))?.length === 1 ? true : undefined,
    );
    await waitFor('watches back', () => (e.server.watchCount() >= 5 ? true : undefined));
    // Compact the history and drop the watches: re-watching from the old version gets 410.
    e.server.create('v1', 'pods', podBody({ name: 'worker-1', ip: '10.0.0.22', labels: { app: 'worker' } }));
    e.server.compact();
    e.server.dropWatches();
    await waitFor('worker after 410', async () =>
      (await endpointsOf(ingress, UDP))?.length === 2 ? true : undefined,
    );
  });

  it('retries an unreachable proxy with backoff while the others converge, and sends the token', async () => {
    const e = await setup();
    const good = await startProxy({ token: 's3cret' });
    e.proxies.push(good);
    e.server.create(
      'v1',
      'pods',
      podBody({
        name: 'ingress-0',
        ip: '10.0.0.1',
        labels: { app: 'l7mp-ingress' },
        apiAddress: good.address,
      }),
    );
    // Nothing listens on this address: a proxy that is not up.
    const dead = await startProxy();
    const deadAddress = dead.address;
    await dead.close();
    e.server.create(
      'v1',
      'pods',
      podBody({
        name: 'ingress-1',
        ip: '10.0.0.2',
        labels: { app: 'l7mp-ingress' },
        apiAddress: deadAddress,
      }),
    );
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target(
        'udp-cluster',
        9999,
        { matchLabels: { app: 'l7mp-ingress' } },
        { matchLabels: { app: 'worker' } },
      ),
    );
    const errors: string[] = [];
    const r = await reconciler(e, {
      token: 's3cret',
      hooks: { onError: (ev) => errors.push(ev.proxy ?? '') },
    });
    await waitFor('good proxy programmed', async () =>
      (await good.config()).clusters.some((c) => c.name === UDP) ? true : undefined,
    );
    await waitFor('several retries', () =>
      errors.filter((p) => p === 'default/ingress-1').length >= 3 ? true : undefined,
    );
    const states = r.proxies();
    expect(states.find((s) => s.key === 'default/ingress-0')?.inSync).toBe(true);
    expect(states.find((s) => s.key === 'default/ingress-1')?.lastError).toContain('unreachable');
    const cond = await waitFor('Programmed reports the failure', () => {
      const o = e.server.get('l7mp.io/v1', 'targets', 'default', 'udp-cluster') as {
        status?: { conditions?: { type: string; status: string; message?: string }[] };
      };
      return o.status?.conditions?.find(
        (c) => c.type === 'Programmed' && c.status === 'False' && c.message?.includes('1/2') === true,
      );
    });
    expect(cond.message).toContain('default/ingress-1');
  });

  it('elects one leader among two replicas', async () => {
    const e = await setup();
    const ingress = await proxyPod(e, 'ingress-0', '10.0.0.1', { app: 'l7mp-ingress' });
    e.server.create(
      'l7mp.io/v1',
      'targets',
      target(
        'udp-cluster',
        9999,
        { matchLabels: { app: 'l7mp-ingress' } },
        { matchLabels: { app: 'worker' } },
      ),
    );
    const le = (identity: string) => ({
      namespace: 'default',
      leaseName: 'l7mp-operator',
      identity,
      leaseDurationMs: 1000,
      renewPeriodMs: 200,
    });
    const a = await reconciler(e, { leaderElection: le('a') });
    await waitFor('a leads', () => (a.isLeader() ? true : undefined));
    const b = await reconciler(e, { leaderElection: le('b') });
    await waitFor('programmed', async () =>
      (await ingress.config()).clusters.some((c) => c.name === UDP) ? true : undefined,
    );
    expect(b.isLeader()).toBe(false);
    await a.stop();
    await waitFor('b takes over', () => (b.isLeader() ? true : undefined));
    const lease = e.server.get('coordination.k8s.io/v1', 'leases', 'default', 'l7mp-operator') as {
      spec: { holderIdentity?: string };
    };
    expect(lease.spec.holderIdentity).toBe('b');
  });
});
