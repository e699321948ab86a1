import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  createReconciler,
  PROGRAMMED_ANNOTATION,
  ProgrammedMarkError,
  ProgrammedMarks,
  type Reconciler,
} from '../src';
import { DevApiServer, kubeConfigFor, podBody, startProxy, waitFor, type TestProxy } from './support';

const OWNED = '/l7mp.io/v1/';

/** An HTTP proxy in front of the API server that answers 403 to the requests `reject` picks. */
interface Gate {
  url: string;
  reject: (method: string, url: string) => boolean;
  rejected: number;
  close(): Promise<void>;
}

async function startGate(upstream: string): Promise<Gate> {
  const target = new URL(upstream);
  const gate: Gate = { url: '', reject: () => false, rejected: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    if (gate.reject(req.method ?? 'GET', req.url ?? '/')) {
      gate.rejected += 1;
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403 }));
      return;
    }
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        res.flushHeaders();
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => res.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gate.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return gate;
}

interface Env {
  server: DevApiServer;
  url: string;
  proxies: TestProxy[];
  reconcilers: Reconciler[];
  gates: Gate[];
}
let env: Env | undefined;

async function setup(): Promise<Env> {
  const server = new DevApiServer();
  const { url } = await server.start();
  env = { server, url, proxies: [], reconcilers: [], gates: [] };
  return env;
}

afterEach(async () => {
  if (env === undefined) return;
  for (const r of env.reconcilers) await r.stop();
  for (const p of env.proxies) await p.close();
  for (const g of env.gates) await g.close();
  await env.server.stop();
  env = undefined;
});

async function reconciler(
  e: Env,
  extra: Partial<Parameters<typeof createReconciler>[0]> = {},
  url = e.url,
): Promise<Reconciler> {
  const r = createReconciler({
    kubeConfig: kubeConfigFor(url),
    namespaces: ['default'],
    resyncPeriodMs: 60_000,
    informerRestartDelayMs: 50,
    backoff: { initialMs: 50, maxMs: 200 },
    requestTimeoutMs: 1000,
    ...extra,
  });
  e.reconcilers.push(r);
  await r.start();
  return r;
}

async function proxyPod(e: Env, name: string, labels: Record<string, string>): Promise<TestProxy> {
  const p = await startProxy();
  e.proxies.push(p);
  e.server.create('v1', 'pods', podBody({ name, ip: p.ip, labels, apiAddress: p.address }));
  return p;
}

const udpTarget = (name: string, port: number, app: string) => ({
  apiVersion: 'l7mp.io/v1',
  kind: 'Target',
  metadata: { name, namespace: 'default' },
  spec: { selector: { matchLabels: { app } }, cluster: { spec: { UDP: { port } } } },
});

const vsvc = (name: string, port: number, app: string) => ({
  apiVersion: 'l7mp.io/v1',
  kind: 'VirtualService',
  metadata: { name, namespace: 'default' },
  spec: {
    selector: { matchLabels: { app } },
    listener: {
      spec: { UDP: { port } },
      rules: [{ action: { route: { destination: { spec: { UDP: { port: 9 } } } } } }],
    },
  },
});

/** Names of every object the proxy runs that the operator owns. */
async function ownedNames(p: TestProxy): Promise<string[]> {
  const c = await p.config();
  return [...c.listeners, ...c.clusters, ...c.rulelists, ...c.rules, ...c.routes]
    .map((o) => o.name)
    .filter((n) => n.startsWith(OWNED));
}

const annotationOf = (e: Env, pod: string): string | undefined => {
  const o = e.server.get('v1', 'pods', 'default', pod) as
    { metadata?: { annotations?: Record<string, string> } } | undefined;
  return o?.metadata?.annotations?.[PROGRAMMED_ANNOTATION];
};

describe('programmed mark of proxy pods', () => {
  it('marks a pod once its proxy is programmed, and only then', async () => {
    const e = await setup();
    const proxy = await proxyPod(e, 'ingress-0', { app: 'ingress' });
    const idle = await proxyPod(e, 'idle-0', { app: 'idle' });
    e.server.create('l7mp.io/v1', 'targets', udpTarget('only', 7000, 'ingress'));
    await reconciler(e);
    await waitFor('programmed', async () => ((await ownedNames(proxy)).length > 0 ? true : undefined));
    expect(await waitFor('annotation set', () => annotationOf(e, 'ingress-0'))).toBe('true');
    // Labels are left alone; a pod nothing selects is not marked.
    const pod = e.server.get('v1', 'pods', 'default', 'ingress-0') as {
      metadata: { labels: Record<string, string>; finalizers?: string[] };
    };
    expect(pod.metadata.labels).toEqual({ app: 'ingress' });
    expect(pod.metadata.finalizers ?? []).toEqual([]);
    expect(annotationOf(e, 'idle-0')).toBeUndefined();
    expect(await ownedNames(idle)).toEqual([]);
  });

  it('removes the objects and the mark when the only CR selecting a pod is deleted while running', async () => {
    const e = await setup();
    const proxy = await proxyPod(e, 'ingress-0', { app: 'ingress' });
    e.server.create('l7mp.io/v1', 'targets', udpTarget('only', 7000, 'ingress'));
    e.server.create('l7mp.io/v1', 'virtualservices', vsvc('listener', 9001, 'ingress'));
    await reconciler(e);
    await waitFor('programmed', async () => ((await ownedNames(proxy)).length >= 2 ? true : undefined));
    await waitFor('annotation set', () => annotationOf(e, 'ingress-0'));
    // One CR left: the pod is still a proxy and stays marked.
    e.server.delete('l7mp.io/v1', 'virtualservices', 'default', 'listener');
    await waitFor('listener removed', async () =>
      (await proxy.config()).listeners.some((l) => l.name.startsWith(OWNED)) ? undefined : true,
    );
    expect(await ownedNames(proxy)).toEqual(['/l7mp.io/v1/Target/default/only']);
    expect(annotationOf(e, 'ingress-0')).toBe('true');

    e.server.delete('l7mp.io/v1', 'targets', 'default', 'only');
    await waitFor('owned objects removed', async () =>
      (await ownedNames(proxy)).length === 0 ? true : undefined,
    );
    await waitFor('annotation removed', () =>
      annotationOf(e, 'ingress-0') === undefined ? true : undefined,
    );
    // The proxy's own config is kept.
    expect((await proxy.config()).listeners.map((l) => l.name)).toEqual(['controller-listener']);
  });

  it('cleans up after an operator restart: deleted CR and changed labels while it was down', async () => {
    const e = await setup();
    const a = await proxyPod(e, 'ingress-0', { app: 'ingress' });
    const b = await proxyPod(e, 'edge-0', { app: 'edge' });
    const kept = await proxyPod(e, 'kept-0', { app: 'kept' });
    e.server.create('l7mp.io/v1', 'targets', udpTarget('only', 7000, 'ingress'));
    e.server.create('l7mp.io/v1', 'targets', udpTarget('edge', 7001, 'edge'));
    e.server.create('l7mp.io/v1', 'targets', udpTarget('kept', 7002, 'kept'));
    const first = await reconciler(e);
    for (const [name, p] of [
      ['ingress-0', a],
      ['edge-0', b],
      ['kept-0', kept],
    ] as const) {
      await waitFor(`${name} programmed`, async () => ((await ownedNames(p)).length > 0 ? true : undefined));
      await waitFor(`${name} marked`, () => annotationOf(e, name));
    }

    await first.stop();
    e.server.delete('l7mp.io/v1', 'targets', 'default', 'only');
    e.server.patch('v1', 'pods', 'default', 'edge-0', { metadata: { labels: { app: 'moved' } } });
    await reconciler(e);

    for (const [name, p] of [
      ['ingress-0', a],
      ['edge-0', b],
    ] as const) {
      await waitFor(`${name} cleaned`, async () => ((await ownedNames(p)).length === 0 ? true : undefined));
      await waitFor(`${name} unmarked`, () => (annotationOf(e, name) === undefined ? true : undefined));
    }
    expect(await ownedNames(kept)).toEqual(['/l7mp.io/v1/Target/default/kept']);
    expect(annotationOf(e, 'kept-0')).toBe('true');
  });

  it('programs the proxy when the mark cannot be written, and retries the mark', async () => {
    const e = await setup();
    const gate = await startGate(e.url);
    e.gates.push(gate);
    gate.reject = (method, url) => method === 'PATCH' && url.startsWith('/api/v1/namespaces/default/pods/');
    const proxy = await proxyPod(e, 'ingress-0', { app: 'ingress' });
    e.server.create('l7mp.io/v1', 'targets', udpTarget('only', 7000, 'ingress'));
    const errors: Error[] = [];
    const r = await reconciler(e, { hooks: { onError: (ev) => errors.push(ev.error) } }, gate.url);
    await waitFor('programmed', async () => ((await ownedNames(proxy)).length > 0 ? true : undefined));
    await waitFor('mark retried', () => (gate.rejected >= 3 ? true : undefined));
    const markError = errors.find((err) => err instanceof ProgrammedMarkError);
    expect(markError?.message).toContain(
      `cannot set the ${PROGRAMMED_ANNOTATION} annotation of pod default/ingress-0`,
    );
    expect(annotationOf(e, 'ingress-0')).toBeUndefined();
    // The proxy's objects were put once: the retries only retry the mark.
    expect(r.proxies().find((p) => p.key === 'default/ingress-0')?.calls).toBe(2);

    gate.reject = () => false;
    await waitFor('annotation set after the API server accepts it', () => annotationOf(e, 'ingress-0'));
  });

  it('retries removing the mark until the API server accepts it', async () => {
    const e = await setup();
    const gate = await startGate(e.url);
    e.gates.push(gate);
    const proxy = await proxyPod(e, 'ingress-0', { app: 'ingress' });
    e.server.create('l7mp.io/v1', 'targets', udpTarget('only', 7000, 'ingress'));
    await reconciler(e, {}, gate.url);
    await waitFor('marked', () => annotationOf(e, 'ingress-0'));
    gate.reject = (method, url) => method === 'PATCH' && url.startsWith('/api/v1/namespaces/default/pods/');
    e.server.delete('l7mp.io/v1', 'targets', 'default', 'only');
    await waitFor('owned objects removed', async () =>
      (await ownedNames(proxy)).length === 0 ? true : undefined,
    );
    await waitFor('removal retried', () => (gate.rejected >= 2 ? true : undefined));
    expect(annotationOf(e, 'ingress-0')).toBe('true');
    gate.reject = () => false;
    await waitFor('annotation removed', () =>
      annotationOf(e, 'ingress-0') === undefined ? true : undefined,
    );
  });
});

describe('ProgrammedMarks', () => {
  it('recognises the watch event of its own write and prefers its write over a stale cache', async () => {
    const e = await setup();
    const core = kubeConfigFor(e.url).makeApiClient(CoreV1Api);
    const created = e.server.create(
      'v1',
      'pods',
      podBody({ name: 'p', ip: '10.0.0.1', labels: {} }),
    ) as V1Pod;
    const marks = new ProgrammedMarks(core);
    expect(marks.isMarked(created)).toBe(false);
    await marks.mark(created, true);
    // The cache still holds the old pod: the write wins.
    expect(marks.isMarked(created)).toBe(true);
    const after = e.server.get('v1', 'pods', 'default', 'p') as V1Pod;
    expect(after.metadata?.annotations?.[PROGRAMMED_ANNOTATION]).toBe('true');
    expect(marks.observe('update', created)).toBe(false);
    expect(marks.observe('update', after)).toBe(true);
    // Retired: the pod object decides again.
    expect(marks.isMarked(created)).toBe(false);
    expect(marks.observe('update', after)).toBe(false);

    await marks.mark(after, false);
    const removed = e.server.get('v1', 'pods', 'default', 'p') as V1Pod;
    expect(removed.metadata?.annotations?.[PROGRAMMED_ANNOTATION]).toBeUndefined();
    expect(marks.isMarked(after)).toBe(false);
    expect(marks.observe('delete', after)).toBe(false);
    expect(marks.isMarked(after)).toBe(true);
  });

  it('throws a ProgrammedMarkError naming the pod when the PATCH fails', async () => {
    const e = await setup();
    const marks = new ProgrammedMarks(kubeConfigFor(e.url).makeApiClient(CoreV1Api));
    const missing = podBody({ name: 'missing', ip: '10.0.0.2', labels: {} }) as V1Pod;
    const error = await marks.mark(missing, true).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ProgrammedMarkError);
    expect((error as ProgrammedMarkError).message).toMatch(
      /cannot set the l7mp\.io\/programmed annotation of pod default\/missing: .*404/,
    );
    // A failed write leaves no belief behind.
    expect(marks.isMarked(missing)).toBe(false);
  });
});
