import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createReconciler, type Reconciler } from '../src';
import { DevApiServer, kubeConfigFor, podBody, startProxy, waitFor, type TestProxy } from './support';

// What the cheap paths promise: a status write renders nothing, a cold sync costs a GET and a PUT
// per proxy, and one changed resource costs one PUT on the one proxy it affects.

interface Env {
  server: DevApiServer;
  proxies: TestProxy[];
  reconciler?: Reconciler;
  silent?: { server: Server; sockets: Set<Socket> };
}
let env: Env | undefined;

afterEach(async () => {
  if (env === undefined) return;
  await env.reconciler?.stop();
  for (const p of env.proxies) await p.close();
  if (env.silent !== undefined) {
    for (const socket of env.silent.sockets) socket.destroy();
    const silent = env.silent.server;
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
  await env.server.stop();
  env = undefined;
});

const targetBody = (name: string, proxy: string, port: number) => ({
  apiVersion: 'l7mp.io/v1',
  kind: 'Target',
  metadata: { name, namespace: 'default' },
  spec: {
    selector: { matchLabels: { proxy } },
    cluster: { spec: { UDP: { port } }, endpoints: [{ selector: { matchLabels: { app: 'worker' } } }] },
  },
});

const clusterPort = async (p: TestProxy, name: string): Promise<number | undefined> => {
  const cluster = (await p.config()).clusters.find((c) => c.name === `/l7mp.io/v1/Target/default/${name}`);
  return (cluster?.spec as { port?: number } | undefined)?.port;
};

const programmed = (server: DevApiServer, name: string): true | undefined => {
  const o = server.get('l7mp.io/v1', 'targets', 'default', name) as
    { status?: { conditions?: { type: string; status: string }[] } } | undefined;
  return o?.status?.conditions?.some((c) => c.type === 'Programmed' && c.status === 'True') === true
    ? true
    : undefined;
};

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function start(): Promise<{ e: Env; renders: () => number; calls: (i: number) => number }> {
  const server = new DevApiServer();
  const { url } = await server.start();
  const e: Env = { server, proxies: [] };
  env = e;
  for (let i = 0; i < 2; i++) {
    const p = await startProxy();
    e.proxies.push(p);
    server.create(
      'v1',
      'pods',
      podBody({
        name: `proxy-${i}`,
        ip: `10.3.0.${i + 1}`,
        labels: { proxy: `p${i}` },
        apiAddress: p.address,
      }),
    );
  }
  server.create('v1', 'pods', podBody({ name: 'worker-0', ip: '10.3.1.1', labels: { app: 'worker' } }));
  server.create('l7mp.io/v1', 'targets', targetBody('t-0', 'p0', 7000));
  server.create('l7mp.io/v1', 'targets', targetBody('t-1', 'p1', 7001));
  let renders = 0;
  const reconciler = createReconciler({
    kubeConfig: kubeConfigFor(url),
    namespaces: ['default'],
    resyncPeriodMs: 600_000,
    hooks: { onRender: () => (renders += 1) },
  });
  e.reconciler = reconciler;
  await reconciler.start();
  const calls = (i: number) =>
    reconciler.proxies().find((p) => p.key === `default/proxy-${i}`)?.calls ?? Number.NaN;
  return { e, renders: () => renders, calls };
}

describe('reconciler cost', () => {
  it('renders for a spec or label change but not for a status write', async () => {
    const { e, renders } = await start();
    await waitFor('t-0 programmed', () => programmed(e.server, 't-0'));
    await waitFor('t-1 programmed', () => programmed(e.server, 't-1'));
    await settle(150);
    const before = renders();

    e.server.patch(
      'l7mp.io/v1',
      'targets',
      'default',
      't-0',
      { status: { conditions: [{ type: 'Other', status: 'True', reason: 'Test', message: 'x' }] } },
      'status',
    );
    // Bounded "nothing happens" check: the watch event arrives within a few ms on loopback.
    await settle(200);
    expect(renders()).toBe(before);

    e.server.patch('l7mp.io/v1', 'targets', 'default', 't-0', { metadata: { labels: { tier: 'gold' } } });
    await waitFor('render after a label change', () => (renders() > before ? true : undefined));

    e.server.patch('l7mp.io/v1', 'targets', 'default', 't-0', {
      spec: { cluster: { spec: { UDP: { port: 7100 } } } },
    });
    await waitFor('new port on proxy-0', async () =>
      (await clusterPort(e.proxies[0] as TestProxy, 't-0')) === 7100 ? true : undefined,
    );
  });

  it('writes statuses while a proxy sync hangs, after a bounded wait', async () => {
    const server = new DevApiServer();
    const { url } = await server.start();
    const e: Env = { server, proxies: [] };
    env = e;
    // A proxy API that accepts connections and never answers keeps its sync in flight.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    e.silent = { server: silent, sockets };
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    const healthy = await startProxy();
    e.proxies.push(healthy);
    server.create(
      'v1',
      'pods',
      podBody({ name: 'proxy-0', ip: '10.4.0.1', labels: { proxy: 'p0' }, apiAddress: healthy.address }),
    );
    server.create(
      'v1',
      'pods',
      podBody({
        name: 'proxy-1',
        ip: '10.4.0.2',
        labels: { proxy: 'p1' },
        apiAddress: `127.0.0.1:${silentPort}`,
      }),
    );
    server.create('v1', 'pods', podBody({ name: 'worker-0', ip: '10.4.1.1', labels: { app: 'worker' } }));
    server.create('l7mp.io/v1', 'targets', targetBody('t-0', 'p0', 7000));
    server.create('l7mp.io/v1', 'targets', targetBody('t-1', 'p1', 7001));
    let failures = 0;
    const reconciler = createReconciler({
      kubeConfig: kubeConfigFor(url),
      namespaces: ['default'],
      resyncPeriodMs: 600_000,
      requestTimeoutMs: 6000,
      hooks: { onError: () => (failures += 1) },
    });
    e.reconciler = reconciler;
    const started = Date.now();
    await reconciler.start();
    await waitFor('t-0 programmed', () => programmed(server, 't-0'), 5000);
    // Written while proxy-1's GET still hangs: the wait for a busy queue is bounded.
    expect(failures).toBe(0);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(sockets.size).toBeGreaterThan(0);
  });

  it('costs a GET and a PUT per proxy cold, and one PUT on the affected proxy for a change', async () => {
    const { e, calls } = await start();
    const [p0, p1] = e.proxies;
    if (p0 === undefined || p1 === undefined) throw new Error('proxies not started');
    await waitFor('cold sync', async () =>
      (await clusterPort(p0, 't-0')) === 7000 && (await clusterPort(p1, 't-1')) === 7001 ? true : undefined,
    );
    await settle(150);
    expect([calls(0), calls(1)]).toEqual([2, 2]);

    e.server.patch('l7mp.io/v1', 'targets', 'default', 't-1', {
      spec: { cluster: { spec: { UDP: { port: 7201 } } } },
    });
    await waitFor('new port on proxy-1', async () =>
      (await clusterPort(p1, 't-1')) === 7201 ? true : undefined,
    );
    await settle(150);
    expect([calls(0), calls(1)]).toEqual([2, 3]);
    expect(await clusterPort(p0, 't-0')).toBe(7000);
  });
});
