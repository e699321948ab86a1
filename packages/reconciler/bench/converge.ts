/**
 * Benchmark (not a test): 1,000 Targets over 100 proxy API instances, against the dev API server.
 * Reports the time to converge from cold (every proxy validated and programmed) with its REST
 * calls, and the time and REST calls for one changed Target.
 *
 * Run: node --import tsx packages/reconciler/bench/converge.ts
 *
 * Every measurement runs in a fresh Node process (no JIT or cache carried over), in two setups:
 * - `separate`: the proxies run in PROXY_HOSTS child processes (as in a cluster, where every proxy
 *   is its own process); the reconciler and the dev API server share the bench process.
 * - `in-process`: the proxies run in the reconciler's own process and share its CPU.
 * Env: PROXIES (100), RESOURCES (1000), REPEAT (3), MODES (separate,in-process), PROXY_HOSTS (2).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DevApiServer } from '@l7mp/dev-apiserver';
import { createReconciler } from '../src';
import { kubeConfigFor, podBody, startProxy, type TestProxy } from '../test/support';
import type { HostReply, HostRequest } from './proxy-host';

const PROXIES = Number(process.env.PROXIES ?? 100);
const RESOURCES = Number(process.env.RESOURCES ?? 1000);
const REPEAT = Number(process.env.REPEAT ?? 3);
const PROXY_HOSTS = Math.max(1, Number(process.env.PROXY_HOSTS ?? 2));
const WORKERS = 10;
const MODES = ['separate', 'in-process'] as const;
type Mode = (typeof MODES)[number];
const CHANGED = '/l7mp.io/v1/Target/default/t-0';

interface RunResult {
  mode: Mode;
  coldMs: number;
  coldCalls: number;
  /** CPU time of the bench process (reconciler + dev API server, + proxies when in-process). */
  coldCpuMs: number;
  inSync: string;
  /** End of the first full render (informer lists + validation of every resource). */
  firstRenderMs: number;
  firstRenderDurationMs: number;
  firstSyncMs: number;
  syncMedianMs: number;
  changeMs: number;
  /** Render time for the change (the whole desired state is rendered again). */
  changeRenderMs: number;
  changeCalls: number;
  changeProxies: number;
}

/** The proxies, wherever they run. */
interface Fleet {
  readonly addresses: string[];
  clusterPort(index: number, cluster: string): Promise<number | undefined>;
  close(): Promise<void>;
}

async function inProcessFleet(count: number): Promise<Fleet> {
  const proxies: TestProxy[] = [];
  for (let i = 0; i < count; i++) proxies.push(await startProxy());
  return {
    addresses: proxies.map((p) => p.address),
    async clusterPort(index, cluster) {
      const proxy = proxies[index];
      if (proxy === undefined) throw new Error(`no proxy #${index}`);
      const c = (await proxy.config()).clusters.find((cl) => cl.name === cluster);
      return (c?.spec as { port?: number } | undefined)?.port;
    },
    async close() {
      for (const p of proxies) await p.close();
    },
  };
}

class ProxyHost {
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly pending = new Map<number, (reply: HostReply) => void>();

  constructor() {
    this.child = fork(fileURLToPath(new URL('./proxy-host.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      stdio: 'inherit',
    });
    this.child.on('message', (reply: HostReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
  }

  async request<T extends HostReply['type']>(
    request: Omit<HostRequest, 'id'>,
    expected: T,
  ): Promise<Extract<HostReply, { type: T }>> {
    const id = this.nextId++;
    const reply = await new Promise<HostReply>((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ ...request, id });
    });
    if (reply.type === 'error') throw new Error(`proxy host: ${reply.message}`);
    if (reply.type !== expected) throw new Error(`proxy host: expected ${expected}, got ${reply.type}`);
    return reply as Extract<HostReply, { type: T }>;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.request({ type: 'stop' }, 'stopped');
    await exited;
  }
}

async function childProcessFleet(count: number, hosts: number): Promise<Fleet> {
  const started = Array.from({ length: hosts }, (_, h) => {
    const host = new ProxyHost();
    const share = Math.floor(count / hosts) + (h < count % hosts ? 1 : 0);
    return host
      .request({ type: 'start', count: share }, 'started')
      .then((r) => ({ host, addresses: r.addresses }));
  });
  const parts = await Promise.all(started);
  // Proxy i lives in host (i mod hosts), at index (i div hosts) there, so a resource's proxies
  // are spread over the hosts.
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const address = parts[i % hosts]?.addresses[Math.floor(i / hosts)];
    if (address === undefined) throw new Error(`proxy #${i} did not start`);
    addresses.push(address);
  }
  return {
    addresses,
    async clusterPort(index, cluster) {
      const part = parts[index % hosts];
      if (part === undefined) throw new Error(`no proxy #${index}`);
      const reply = await part.host.request(
        { type: 'clusterPort', index: Math.floor(index / hosts), cluster },
        'clusterPort',
      );
      return reply.port;
    },
    async close() {
      await Promise.all(parts.map((p) => p.host.stop()));
    },
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? Number.NaN;
};

async function runOnce(mode: Mode): Promise<RunResult> {
  const server = new DevApiServer();
  const { url } = await server.start();
  const fleet =
    mode === 'separate' ? await childProcessFleet(PROXIES, PROXY_HOSTS) : await inProcessFleet(PROXIES);
  fleet.addresses.forEach((address, i) =>
    server.create(
      'v1',
      'pods',
      podBody({
        name: `proxy-${i}`,
        ip: `10.1.${i >> 8}.${i & 255}`,
        labels: { proxy: `p${i}` },
        apiAddress: address,
      }),
    ),
  );
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

  let inSync = '';
  const converged: (() => void)[] = [];
  const applied: ((proxy: string) => void)[] = [];
  const syncs: { at: number; ms: number }[] = [];
  const renders: { at: number; ms: number }[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const reconciler = createReconciler({
    kubeConfig: kubeConfigFor(url),
    namespaces: ['default'],
    resyncPeriodMs: 600_000,
    ...(process.env.CONCURRENCY !== undefined ? { concurrency: Number(process.env.CONCURRENCY) } : {}),
    hooks: {
      onRender: (e) => renders.push({ at: performance.now() - started, ms: e.durationMs }),
      onReconcile: (e) => {
        syncs.push({ at: performance.now() - started, ms: e.durationMs });
        if (e.outcome === 'applied') for (const f of applied) f(e.proxy);
      },
      onProxiesInSync: (n, t) => {
        inSync = `${n}/${t}`;
        if (n === t && t === PROXIES) for (const resolve of converged.splice(0)) resolve();
      },
    },
  });
  const done = new Promise<void>((resolve) => converged.push(resolve));
  await reconciler.start();
  await done;
  const coldMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const coldCpuMs = (cpu.user + cpu.system) / 1000;
  const callsOf = () => reconciler.proxies().reduce((sum, p) => sum + p.calls, 0);
  const coldCalls = callsOf();
  const firstRender = renders.find((r) => r.ms > 0) ?? renders[0];

  // One changed Target: it is on proxy-0 only. Timed until that proxy acknowledged the PUT (the
  // proxy answers once the new config runs), then checked on the proxy itself.
  await new Promise((r) => setTimeout(r, 300));
  const callsBefore = callsOf();
  const changed = new Set<string>();
  const changeStart = performance.now();
  const appliedToProxy0 = new Promise<void>((resolve) =>
    applied.push((proxy) => {
      changed.add(proxy);
      if (proxy === 'default/proxy-0') resolve();
    }),
  );
  server.patch('l7mp.io/v1', 'targets', 'default', 't-0', {
    spec: { cluster: { spec: { UDP: { port: 20000 } } } },
  });
  await appliedToProxy0;
  const changeMs = performance.now() - changeStart;
  const changeRenderMs = renders
    .filter((r) => r.at >= changeStart - started)
    .reduce((sum, r) => sum + r.ms, 0);
  const port = await fleet.clusterPort(0, CHANGED);
  if (port !== 20000) throw new Error(`proxy-0 runs port ${String(port)} for t-0, not 20000`);
  await new Promise((r) => setTimeout(r, 300));
  const changeCalls = callsOf() - callsBefore;

  await reconciler.stop();
  await fleet.close();
  await server.stop();
  return {
    mode,
    coldMs,
    coldCalls,
    coldCpuMs,
    inSync,
    firstRenderMs: firstRender?.at ?? Number.NaN,
    firstRenderDurationMs: firstRender?.ms ?? Number.NaN,
    firstSyncMs: syncs[0]?.at ?? Number.NaN,
    syncMedianMs: median(syncs.map((s) => s.ms)),
    changeMs,
    changeRenderMs,
    changeCalls,
    changeProxies: changed.size,
  };
}

const ms = (v: number) => `${Math.round(v)} ms`;

function describeRun(r: RunResult): string {
  return (
    `${r.mode.padEnd(10)} cold ${ms(r.coldMs)} (${r.coldCalls} calls, ${r.inSync} in sync, CPU ${ms(r.coldCpuMs)}; first render ` +
    `${ms(r.firstRenderDurationMs)} done at ${ms(r.firstRenderMs)}, first proxy at ${ms(r.firstSyncMs)}, ` +
    `sync median ${ms(r.syncMedianMs)}) | one change ${ms(r.changeMs)} (render ${ms(r.changeRenderMs)}), ` +
    `${r.changeCalls} call(s) on ` +
    `${r.changeProxies} prox${r.changeProxies === 1 ? 'y' : 'ies'}`
  );
}

/** Runs one measurement in a fresh process and returns its result. */
function runInChild(mode: Mode): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, CONVERGE_RUN: mode },
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    });
    let result: RunResult | undefined;
    child.on('message', (m: RunResult) => (result = m));
    child.on('error', reject);
    child.on('exit', (code) =>
      result !== undefined ? resolve(result) : reject(new Error(`run ${mode} exited with ${String(code)}`)),
    );
  });
}

async function main(): Promise<void> {
  const single = process.env.CONVERGE_RUN;
  if (single !== undefined) {
    if (!MODES.includes(single as Mode)) throw new Error(`unknown mode ${single}`);
    const result = await runOnce(single as Mode);
    process.send?.(result);
    return;
  }
  const modes = (process.env.MODES ?? MODES.join(','))
    .split(',')
    .filter((m): m is Mode => MODES.includes(m as Mode));
  console.log(
    `${PROXIES} proxies, ${RESOURCES} Targets, ${REPEAT} run(s) per setup, proxies in ${PROXY_HOSTS} child process(es) when separate`,
  );
  const results = new Map<Mode, RunResult[]>();
  for (let i = 0; i < REPEAT; i++) {
    for (const mode of modes) {
      const r = await runInChild(mode);
      console.log(describeRun(r));
      results.set(mode, [...(results.get(mode) ?? []), r]);
    }
  }
  console.log('medians:');
  for (const [mode, runs] of results) {
    const m = (f: (r: RunResult) => number) => ms(median(runs.map(f)));
    console.log(
      `  ${mode.padEnd(10)} cold convergence ${m((r) => r.coldMs)} with ${median(runs.map((r) => r.coldCalls))} REST calls; ` +
        `one changed Target ${m((r) => r.changeMs)} with ${median(runs.map((r) => r.changeCalls))} REST call(s)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
