/**
 * Benchmark (not a test): 1,000 Targets over 100 proxy API instances, against the dev API server.
 * Reports the time to converge from cold, and the REST calls and time for one changed Target.
 * Run: node --import tsx packages/reconciler/bench/converge.ts
 */
import { DevApiServer } from '@l7mp/dev-apiserver';
import { createReconciler } from '../src';
import { kubeConfigFor, podBody, startProxy, type TestProxy } from '../test/support';

const PROXIES = Number(process.env.PROXIES ?? 100);
const RESOURCES = Number(process.env.RESOURCES ?? 1000);
const WORKERS = 10;

async function main(): Promise<void> {
  const server = new DevApiServer();
  const { url } = await server.start();
  const proxies: TestProxy[] = [];
  for (let i = 0; i < PROXIES; i++) {
    const p = await startProxy();
    proxies.push(p);
    server.create(
      'v1',
      'pods',
      podBody({
        name: `proxy-${i}`,
        ip: `10.1.${i >> 8}.${i & 255}`,
        labels: { proxy: `p${i}` },
        apiAddress: p.address,
      }),
    );
  }
  for (let w = 0; w < WORKERS; w++)
    server.create(
      'v1',
      'pods',
      podBody({ name: `worker-${w}`, ip: `10.2.0.${w + 1}`, labels: { app: 'worker' } }),
    );
  for (let j = 0; j < RESOURCES; j++) {
    server.create('l7mp.io/v1', 'targets', {
      apiVersion: 'l7mp.io/v1',
      kind: 'Target',
      metadata: { name: `t-${j}`, namespace: 'default' },
      spec: {
        selector: { matchLabels: { proxy: `p${j % PROXIES}` } },
        cluster: {
          spec: { UDP: { port: 10000 + j } },
          endpoints: [{ selector: { matchLabels: { app: 'worker' } } }],
        },
      },
    });
  }
  let inSync = 0;
  let total = 0;
  const waiters: (() => void)[] = [];
  const reconciles: { at: number; ms: number }[] = [];
  const started = Date.now();
  const reconciler = createReconciler({
    kubeConfig: kubeConfigFor(url),
    namespaces: ['default'],
    resyncPeriodMs: 600_000,
    hooks: {
      onReconcile: (e) => {
        reconciles.push({ at: Date.now() - started, ms: e.durationMs });
      },
      onProxiesInSync: (n, t) => {
        inSync = n;
        total = t;
        if (n === t && t === PROXIES) for (const w of waiters.splice(0)) w();
      },
    },
  });
  const converged = new Promise<void>((resolve) => waiters.push(resolve));
  await reconciler.start();
  await converged;
  const cold = Date.now() - started;
  const durations = reconciles.map((r) => r.ms).sort((a, b) => a - b);
  console.log(
    `first proxy synced at ${reconciles[0]?.at ?? -1} ms, last at ${reconciles.at(-1)?.at ?? -1} ms; per-proxy sync median ${durations[durations.length >> 1] ?? -1} ms`,
  );
  const callsBefore = reconciler.proxies().reduce((s, p) => s + p.calls, 0);
  console.log(
    `cold convergence: ${PROXIES} proxies, ${RESOURCES} Targets: ${cold} ms, ${callsBefore} REST calls (${inSync}/${total} in sync)`,
  );

  // One changed Target: affects exactly one proxy.
  const target = proxies[0];
  if (target === undefined) throw new Error('no proxies');
  const changeStart = Date.now();
  server.patch('l7mp.io/v1', 'targets', 'default', 't-0', {
    spec: { cluster: { spec: { UDP: { port: 20000 } } } },
  });
  for (;;) {
    const c = (await target.config()).clusters.find((cl) => cl.name === '/l7mp.io/v1/Target/default/t-0');
    if ((c?.spec as { port?: number } | undefined)?.port === 20000) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const changeMs = Date.now() - changeStart;
  await new Promise((r) => setTimeout(r, 200));
  const callsAfter = reconciler.proxies().reduce((s, p) => s + p.calls, 0);
  console.log(
    `one changed Target: applied in ${changeMs} ms with ${callsAfter - callsBefore} REST call(s) in total`,
  );

  await reconciler.stop();
  for (const p of proxies) await p.close();
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
