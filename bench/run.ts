/**
 * `npm run bench`: the UDP performance bench of issue 6, on loopback, with one load generator for
 * every target. See docs/performance.md for what is measured and how to read the table.
 *
 *   npm run bench                  full run (3 runs per cell, medians; a few minutes)
 *   npm run bench -- --quick       one run per cell, shorter windows (about a minute)
 *   npm run bench -- --profile [flows|churn|chain]   CPU profiles (relay and l7mp UDP→UDP, or the
 *                                  seed chain's two proxies), top functions
 *   options: --runs N, --duration SECONDS, --no-build, --update-docs (write the table into docs/performance.md)
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { FlowJob, FlowResult, SessionJob, SessionResult } from './lib/messages';
import {
  BENCH_DIR,
  BenchError,
  Generator,
  PROXY_DIR,
  ROOT_DIR,
  apiGet,
  cpuSeconds,
  forceGc,
  openFds,
  listenerPort,
  rssBytes,
  startProxy,
  startRelay,
  startServers,
  stopChild,
  udpEchoCluster,
  udpListener,
  type ProxyProcess,
  type Servers,
} from './lib/processes';
import { hotFunctions } from './lib/profile';
import {
  TARGET_LABELS,
  barsTable,
  churnTable,
  flowTable,
  median,
  memoryTable,
  renderMarkdown,
  renderText,
  summarizeFlows,
  type Bar,
  type ChurnSummary,
  type FlowCell,
  type FlowSummary,
  type MemorySummary,
  type TargetName,
  type Workload,
} from './lib/report';

const WORKLOADS: Workload[] = [
  { key: '64x1', name: '64 B, 1×1', size: 64, flows: 1, inflight: 1 },
  { key: '64x16', name: '64 B, 16×4', size: 64, flows: 16, inflight: 4 },
  { key: '1200x1', name: '1200 B, 1×1', size: 1200, flows: 1, inflight: 1 },
  { key: '1200x16', name: '1200 B, 16×4', size: 1200, flows: 16, inflight: 4 },
];
const TARGETS: TargetName[] = ['direct', 'relay', 'udp-udp', 'seed-chain'];
type Phase = 'flows' | 'churn' | 'memory';
type ProfileKind = 'flows' | 'churn' | 'chain';

interface Options {
  quick: boolean;
  targets: TargetName[];
  workloads: Workload[];
  phases: Set<Phase>;
  profile: ProfileKind | undefined;
  runs: number;
  durationMs: number;
  warmupMs: number;
  build: boolean;
  updateDocs: boolean;
  /** Re-summarize the raw runs of an earlier results file instead of measuring. */
  report: string | undefined;
}

const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--duration SECONDS] [--no-build] [--update-docs]
         [--only flows,churn,memory] [--targets direct,relay,udp-udp,seed-chain] [--workloads 64x1,64x16,1200x1,1200x16]
       npm run bench -- --report bench/results/<file>.json [--update-docs]   (tables again from a results file)
       npm run bench -- --profile [flows|churn|chain]   (CPU profiles: relay and l7mp UDP→UDP, or both seed-chain proxies)`;

function listOption<T extends string>(arg: string, value: string | undefined, allowed: readonly T[]): T[] {
  const items = (value ?? '').split(',').filter((item) => item !== '');
  const bad = items.filter((item) => !(allowed as readonly string[]).includes(item));
  if (items.length === 0 || bad.length > 0) {
    throw new BenchError(
      'command line',
      `${arg} takes a comma-separated list of ${allowed.join(', ')}\n${USAGE}`,
    );
  }
  return items as T[];
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const options: Options = {
    quick,
    targets: [...TARGETS],
    workloads: [...WORKLOADS],
    phases: new Set<Phase>(['flows', 'churn', 'memory']),
    profile: undefined,
    runs: quick ? 1 : 3,
    durationMs: quick ? 1200 : 2500,
    warmupMs: quick ? 300 : 500,
    build: true,
    updateDocs: false,
    report: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') continue;
    else if (arg === '--no-build') options.build = false;
    else if (arg === '--profile') {
      const next = argv[i + 1];
      const kinds: readonly string[] = ['flows', 'churn', 'chain'];
      options.profile = next !== undefined && kinds.includes(next) ? (next as ProfileKind) : 'flows';
      if (next !== undefined && kinds.includes(next)) i++;
    } else if (arg === '--only')
      options.phases = new Set(listOption(arg, argv[++i], ['flows', 'churn', 'memory']));
    else if (arg === '--targets') options.targets = listOption(arg, argv[++i], TARGETS);
    else if (arg === '--workloads') {
      const keys = listOption(
        arg,
        argv[++i],
        WORKLOADS.map((w) => w.key),
      );
      options.workloads = WORKLOADS.filter((w) => keys.includes(w.key));
    } else if (arg === '--update-docs') options.updateDocs = true;
    else if (arg === '--report') {
      const file = argv[++i];
      if (file === undefined) throw new BenchError('command line', `--report needs a results file\n${USAGE}`);
      options.report = file;
    } else if (arg === '--runs' || arg === '--duration') {
      const value = Number(argv[++i]);
      if (!(value > 0)) throw new BenchError('command line', `${arg} needs a positive number\n${USAGE}`);
      if (arg === '--runs') options.runs = Math.round(value);
      else options.durationMs = value * 1000;
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new BenchError('command line', `unknown option ${arg}\n${USAGE}`);
  }
  return options;
}

/** Long enough that no throughput-run session of the long-lived targets expires mid-run. */
const LONG_IDLE_MS = 120_000;
const CHURN_IDLE_MS = 2000;
const CHURN_TARGETS = ['direct', 'relay', 'udp-udp'] as const;
const LOSS_TIMEOUT_MS = 500;
const MEMORY_SESSIONS = 10_000;

const log = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function buildBin(): void {
  log('building packages/proxy/dist/bin/l7mp-proxy.cjs (tsup, bin only) ...');
  execFileSync(process.execPath, [path.join(ROOT_DIR, 'node_modules/tsup/dist/cli-default.js')], {
    cwd: PROXY_DIR,
    env: { ...process.env, L7MP_BIN_ONLY: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Every child process of the run, so that an error or Ctrl-C still stops them all. */
const children = new Set<ChildProcess>();
function track<T extends { child: ChildProcess }>(started: T): T {
  children.add(started.child);
  return started;
}
async function stopTracked(child: ChildProcess): Promise<void> {
  children.delete(child);
  await stopChild(child);
}

interface Targets {
  servers: Servers;
  ports: Record<TargetName, number>;
  /** The processes whose CPU use counts as the target's. */
  pids: Record<TargetName, number[]>;
}

async function startTargets(workDir: string, servers: Servers, wanted: TargetName[]): Promise<Targets> {
  const echo = servers.udpEchoPort;
  const pid = (child: ChildProcess): number => {
    if (child.pid === undefined) throw new BenchError('bench', 'a child process has no pid');
    return child.pid;
  };
  const targets: Targets = {
    servers,
    ports: { direct: echo, relay: 0, 'udp-udp': 0, 'seed-chain': 0 },
    pids: { direct: [pid(servers.child)], relay: [], 'udp-udp': [], 'seed-chain': [] },
  };
  if (wanted.includes('relay')) {
    const relay = track(await startRelay(echo, LONG_IDLE_MS));
    targets.ports.relay = relay.port;
    targets.pids.relay = [pid(relay.child)];
  }
  if (wanted.includes('udp-udp')) {
    const udpUdp = track(
      await startProxy('udp-udp', workDir, {
        listeners: [udpListener(LONG_IDLE_MS, { destination: 'udp-echo' })],
        clusters: [udpEchoCluster(echo)],
      }),
    );
    targets.ports['udp-udp'] = await listenerPort(udpUdp, 'udp-in');
    targets.pids['udp-udp'] = [pid(udpUdp.child)];
  }
  if (!wanted.includes('seed-chain')) return targets;
  const chain = await startSeedChain(workDir, servers);
  targets.ports['seed-chain'] = chain.port;
  targets.pids['seed-chain'] = [pid(chain.ingress.child), pid(chain.sidecar.child)];
  return targets;
}

interface SeedChain {
  ingress: ProxyProcess;
  sidecar: ProxyProcess;
  /** The ingress's UDP port, where the generator sends. */
  port: number;
}

/**
 * The two proxies of the seed chain: the sidecar (WebSocket listener, route to the UDS echo) and
 * the ingress (UDP listener; the WebSocket cluster as ingress stage, the UDP echo as destination).
 * With `profileDir`, each writes a CPU profile into its own subdirectory of it.
 */
async function startSeedChain(workDir: string, servers: Servers, profileDir?: string): Promise<SeedChain> {
  const profile = (name: string): { cpuProfileDir?: string } =>
    profileDir === undefined ? {} : { cpuProfileDir: path.join(profileDir, name) };
  const sidecar = track(
    await startProxy(
      'seed-sidecar',
      workDir,
      {
        listeners: [
          {
            name: 'ws-in',
            spec: { protocol: 'WebSocket', port: 0, address: '127.0.0.1' },
            rules: [{ action: { route: { destination: 'uds-echo' } } }],
          },
        ],
        clusters: [
          {
            name: 'uds-echo',
            spec: { protocol: 'UnixDomainSocket', mode: 'seqpacket' },
            endpoints: [{ name: 'uds-echo-1', spec: { address: servers.udsEchoPath } }],
          },
        ],
      },
      profile('sidecar'),
    ),
  );
  const wsPort = await listenerPort(sidecar, 'ws-in');
  const ingress = track(
    await startProxy(
      'seed-ingress',
      workDir,
      {
        listeners: [udpListener(LONG_IDLE_MS, { destination: 'udp-echo', ingress: ['ws-sidecar'] })],
        clusters: [
          {
            name: 'ws-sidecar',
            spec: { protocol: 'WebSocket', port: wsPort },
            endpoints: [{ name: 'sidecar-1', spec: { address: '127.0.0.1' } }],
          },
          udpEchoCluster(servers.udpEchoPort),
        ],
      },
      profile('ingress'),
    ),
  );
  return { ingress, sidecar, port: await listenerPort(ingress, 'udp-in') };
}

function flowJob(
  options: Options,
  port: number,
  workload: Workload,
  durationMs = options.durationMs,
): FlowJob {
  return {
    kind: 'flows',
    target: { address: '127.0.0.1', port },
    size: workload.size,
    flows: workload.flows,
    inflight: workload.inflight,
    warmupMs: options.warmupMs,
    durationMs,
    lossTimeoutMs: LOSS_TIMEOUT_MS,
  };
}

async function measureFlows(options: Options, generator: Generator, targets: Targets): Promise<FlowCell[]> {
  const cells: FlowCell[] = [];
  for (const workload of options.workloads) {
    for (const target of options.targets) cells.push({ target, workload, runs: [], targetCpuPercent: [] });
  }
  const total = cells.length * options.runs;
  let step = 0;
  // Round-robin over the cells, so that a burst of load from elsewhere hits every target alike.
  for (let run = 0; run < options.runs; run++) {
    for (const cell of cells) {
      step++;
      const pids = targets.pids[cell.target];
      const cpuBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
      const started = performance.now();
      const result = await generator.run<FlowResult>(
        flowJob(options, targets.ports[cell.target], cell.workload),
      );
      const wallSeconds = (performance.now() - started) / 1000;
      const cpuAfter = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
      cell.runs.push(result);
      cell.targetCpuPercent.push(((cpuAfter - cpuBefore) / wallSeconds) * 100);
      log(
        `  [${String(step).padStart(2)}/${total}] ${TARGET_LABELS[cell.target].padEnd(20)} ${cell.workload.name.padEnd(
          13,
        )} ${Math.round(result.roundTripsPerSecond).toLocaleString('en-US').padStart(9)} rt/s  p50 ${result.latencyUs.p50.toFixed(
          1,
        )} µs  p99 ${result.latencyUs.p99.toFixed(1)} µs  lost ${result.lost}  malformed ${result.malformed}`,
      );
    }
  }
  return cells;
}

function sessionJob(port: number, count: number, durationMs: number, concurrency: number): SessionJob {
  return {
    kind: 'sessions',
    target: { address: '127.0.0.1', port },
    size: 64,
    concurrency,
    count,
    durationMs,
    replyTimeoutMs: 2000,
    sourceAddresses: 250,
  };
}

async function measureChurn(
  options: Options,
  generator: Generator,
  workDir: string,
  servers: Servers,
): Promise<ChurnSummary[]> {
  const count = options.quick ? 5000 : 10_000;
  const durationMs = options.quick ? 1500 : 3000;
  const results: Record<'direct' | 'relay' | 'udp-udp', SessionResult[]> = {
    direct: [],
    relay: [],
    'udp-udp': [],
  };
  for (let run = 0; run < options.runs; run++) {
    for (const target of CHURN_TARGETS.filter((t) => options.targets.includes(t))) {
      // A fresh relay/proxy each time with a short idle timeout: churn leaves thousands of sessions.
      let child: ChildProcess | undefined;
      let port = servers.udpEchoPort;
      if (target === 'relay') {
        const relay = track(await startRelay(servers.udpEchoPort, CHURN_IDLE_MS));
        child = relay.child;
        port = relay.port;
      } else if (target === 'udp-udp') {
        const proxy = track(
          await startProxy('churn', workDir, {
            listeners: [udpListener(CHURN_IDLE_MS, { destination: 'udp-echo' })],
            clusters: [udpEchoCluster(servers.udpEchoPort)],
          }),
        );
        child = proxy.child;
        port = await listenerPort(proxy, 'udp-in');
      }
      try {
        const result = await generator.run<SessionResult>(sessionJob(port, count, durationMs, 32));
        results[target].push(result);
        log(
          `  churn ${TARGET_LABELS[target].padEnd(20)} ${Math.round(result.sessionsPerSecond)
            .toLocaleString('en-US')
            .padStart(7)} new sessions/s  (${result.completed} answered, ${result.failed} failed)`,
        );
      } finally {
        if (child !== undefined) await stopTracked(child);
      }
    }
  }
  const relayRate = median(results.relay.map((r) => r.sessionsPerSecond));
  return CHURN_TARGETS.filter((t) => options.targets.includes(t)).map((target) => {
    const runs = results[target];
    const rate = median(runs.map((r) => r.sessionsPerSecond));
    return {
      target,
      sessionsPerSecond: rate,
      completed: runs.reduce((sum, r) => sum + r.completed, 0),
      failed: runs.reduce((sum, r) => sum + r.failed, 0),
      vsRelay: relayRate === 0 ? 0 : rate / relayRate,
      generatorCpuPercent: median(runs.map((r) => r.generatorCpuPercent)),
      runs,
    };
  });
}

interface MemoryPoint {
  rssBytes: number;
  heapUsedBytes: number;
  fds: number;
}

async function measureMemory(
  options: Options,
  generator: Generator,
  workDir: string,
  servers: Servers,
): Promise<MemorySummary> {
  // Longer than creating 10,000 sessions takes (at 2,000/s), so that they are all open at once.
  const idleTimeoutMs = options.quick ? 6000 : 10_000;
  // The listener closes a quiet peer between 1 and 1.25 idle timeouts after its last datagram.
  const expiryWaitMs = idleTimeoutMs * 1.25 + 1500;
  const proxy: ProxyProcess = track(
    await startProxy(
      'memory',
      workDir,
      {
        listeners: [udpListener(idleTimeoutMs, { destination: 'udp-echo' })],
        clusters: [udpEchoCluster(servers.udpEchoPort)],
      },
      { inspect: true },
    ),
  );
  const pid = proxy.child.pid ?? 0;
  const port = await listenerPort(proxy, 'udp-in');
  const createSessions = async (count: number): Promise<SessionResult> =>
    generator.run<SessionResult>(sessionJob(port, count, 120_000, 64));
  /** RSS, V8 heap and fds after a full GC, so that garbage not yet collected does not count. */
  const settled = async (): Promise<MemoryPoint> => {
    const { heapUsedBytes } = await forceGc(proxy);
    await sleep(200);
    return { rssBytes: rssBytes(pid), heapUsedBytes, fds: openFds(pid) };
  };
  const liveUdpSessions = async (): Promise<number> => {
    const sessions = await apiGet<{ name?: string }[]>(proxy, '/sessions');
    return sessions.filter((session) => session.name?.startsWith('UDP:') === true).length;
  };
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  try {
    const startFds = openFds(pid);
    // Warm-up: the first sessions load code paths and size the heap once. Not waited out (that
    // would cost an idle timeout): the per-session figure divides by the fds gained, not by 10,000.
    await createSessions(200);
    await sleep(500);
    const baseline = await settled();
    log(`  memory: baseline RSS ${mib(baseline.rssBytes)}, ${baseline.fds} fds (${startFds} before warm-up)`);
    const cycles: {
      open: MemoryPoint;
      openRawRss: number;
      expired: MemoryPoint;
      live: number;
      failed: number;
    }[] = [];
    for (let cycle = 1; cycle <= 2; cycle++) {
      const created = await createSessions(MEMORY_SESSIONS);
      await sleep(1000);
      const openRawRss = rssBytes(pid);
      const open = await settled();
      log(
        `  memory: cycle ${cycle}: ${created.completed} sessions open, RSS ${mib(openRawRss)} (${mib(
          open.rssBytes,
        )} after GC), ${open.fds} fds; waiting ${expiryWaitMs} ms for the idle timeout`,
      );
      await sleep(expiryWaitMs);
      const expired = await settled();
      const live = await liveUdpSessions();
      log(
        `  memory: cycle ${cycle}: timed out: RSS ${mib(expired.rssBytes)}, ${expired.fds} fds, ${live} live`,
      );
      cycles.push({ open, openRawRss, expired, live, failed: created.failed });
    }
    const [first, second] = cycles as [(typeof cycles)[0], (typeof cycles)[0]];
    // Each server-mode UDP session owns exactly one upstream socket: the fds gained are the sessions open.
    const created = first.open.fds - baseline.fds;
    return {
      sessions: MEMORY_SESSIONS,
      sessionsOpenAtReading: created,
      idleTimeoutMs,
      baselineRssBytes: baseline.rssBytes,
      afterSessionsRawRssBytes: first.openRawRss,
      afterSessionsRssBytes: first.open.rssBytes,
      bytesPerSession: (first.open.rssBytes - baseline.rssBytes) / Math.max(1, created),
      rawBytesPerSession: (first.openRawRss - baseline.rssBytes) / Math.max(1, created),
      heapBytesPerSession: (first.open.heapUsedBytes - baseline.heapUsedBytes) / Math.max(1, created),
      afterTimeoutRssBytes: first.expired.rssBytes,
      secondCycleAfterSessionsRssBytes: second.open.rssBytes,
      secondCycleAfterTimeoutRssBytes: second.expired.rssBytes,
      growthAfterTimeoutBytes: second.expired.rssBytes - first.expired.rssBytes,
      heapGrowthAfterTimeoutBytes: second.expired.heapUsedBytes - first.expired.heapUsedBytes,
      fds: {
        baseline: startFds,
        open: first.open.fds,
        afterTimeout: first.expired.fds,
        secondAfterTimeout: second.expired.fds,
      },
      liveSessionsAfterTimeout: second.live,
      failedSessions: first.failed + second.failed,
    };
  } finally {
    await stopTracked(proxy.child);
  }
}

/** Tolerance for "no growth" after a cycle of 10,000 sessions (about 200 bytes per session). */
const GROWTH_TOLERANCE_BYTES = 2 * 1024 * 1024;

function evaluateBars(flows: FlowSummary[], churn: ChurnSummary[], memory: MemorySummary | undefined): Bar[] {
  const find = (target: TargetName, workload: string): FlowSummary | undefined =>
    flows.find((s) => s.target === target && s.workload === workload);
  const bars: Bar[] = [];
  const throughput = ['64 B, 16×4', '1200 B, 16×4'];
  const latency = ['64 B, 1×1', '1200 B, 1×1'];
  const values = (target: TargetName, workloads: string[], pick: (s: FlowSummary) => number): number[] =>
    workloads.map((w) => {
      const summary = find(target, w);
      return summary === undefined ? Number.NaN : pick(summary);
    });
  const list = (numbers: number[]): string => numbers.map((n) => n.toFixed(3)).join(' / ');
  const have = (target: TargetName, workloads: string[]): boolean =>
    workloads.every((w) => find(target, w) !== undefined && find('relay', w) !== undefined);

  const udpRate = values('udp-udp', throughput, (s) => s.vsRelay);
  if (have('udp-udp', throughput))
    bars.push({
      name: 'UDP→UDP throughput (16×4, 64 B / 1200 B)',
      required: '≥ 0.90 × relay',
      measured: `${list(udpRate)} × relay`,
      pass: udpRate.every((v) => v >= 0.9),
    });
  const udpP50 = values('udp-udp', latency, (s) => s.p50VsRelay);
  if (have('udp-udp', latency))
    bars.push({
      name: 'UDP→UDP latency p50 (1×1, 64 B / 1200 B)',
      required: '≤ 1.20 × relay',
      measured: `${list(udpP50)} × relay`,
      pass: udpP50.every((v) => v <= 1.2),
    });
  const seedRate = values('seed-chain', throughput, (s) => s.vsRelay);
  if (have('seed-chain', throughput))
    bars.push({
      name: 'seed chain throughput (16×4, 64 B / 1200 B)',
      required: '≥ 0.35 × relay',
      measured: `${list(seedRate)} × relay`,
      pass: seedRate.every((v) => v >= 0.35),
    });
  const seedLoss = throughput.reduce((sum, w) => {
    const s = find('seed-chain', w);
    return sum + (s === undefined ? 0 : s.lost + s.malformed);
  }, 0);
  if (have('seed-chain', throughput))
    bars.push({
      name: 'seed chain, 4 in flight per flow: lost + merged/malformed',
      required: '0',
      measured: String(seedLoss),
      pass: seedLoss === 0,
    });
  const proxyChurn = churn.find((c) => c.target === 'udp-udp');
  if (proxyChurn !== undefined) {
    bars.push({
      name: 'new UDP sessions per second (l7mp)',
      required: '≥ 5,000',
      measured: Math.round(proxyChurn.sessionsPerSecond).toLocaleString('en-US'),
      pass: proxyChurn.sessionsPerSecond >= 5000,
    });
  }
  if (memory !== undefined) {
    bars.push({
      name: 'RSS per idle UDP session at 10,000 sessions',
      required: '≤ 8 KiB',
      measured: `${(memory.bytesPerSession / 1024).toFixed(2)} KiB after GC (${(memory.rawBytesPerSession / 1024).toFixed(2)} KiB before)`,
      pass: memory.bytesPerSession <= 8 * 1024,
    });
    bars.push({
      name: 'RSS growth after a second cycle timed out (leak)',
      required: `≤ ${GROWTH_TOLERANCE_BYTES / 2 ** 20} MiB, 0 live sessions, fds back to baseline`,
      measured: `${(memory.growthAfterTimeoutBytes / 2 ** 20).toFixed(2)} MiB, ${memory.liveSessionsAfterTimeout} live, ${memory.fds.secondAfterTimeout} / ${memory.fds.baseline} fds`,
      pass:
        memory.growthAfterTimeoutBytes <= GROWTH_TOLERANCE_BYTES &&
        memory.liveSessionsAfterTimeout === 0 &&
        memory.fds.secondAfterTimeout <= memory.fds.baseline,
    });
  }
  // The generator must not be what limits the proxied rows.
  const directRate = values('direct', throughput, (s) => s.roundTripsPerSecond);
  const bestProxied = throughput.map((w) =>
    Math.max(
      ...(['relay', 'udp-udp', 'seed-chain'] as const).map((t) => find(t, w)?.roundTripsPerSecond ?? 0),
    ),
  );
  const headroom = directRate.map((rate, i) => rate / Math.max(1, bestProxied[i] ?? 0));
  if (throughput.every((w) => find('direct', w) !== undefined) && bestProxied.every((r) => r > 0))
    bars.push({
      name: 'generator headroom: direct ÷ fastest proxied (16×4)',
      required: '≥ 1.5',
      measured: list(headroom),
      pass: headroom.every((v) => v >= 1.5),
    });
  return bars;
}

/**
 * Prints the top self-time functions of the profile a child that just exited wrote into `dir`
 * (the largest file there: the main thread's, not a loader thread's).
 */
function printHotFunctions(dir: string, title: string): void {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => path.join(dir, name))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  const file = files[0];
  if (file === undefined) throw new BenchError('profile', `no .cpuprofile in ${dir}`);
  const hot = hotFunctions(file, ROOT_DIR, 20);
  log(`\n${title}: top self time, idle excluded (${path.relative(ROOT_DIR, file)})`);
  log(
    renderText({
      header: ['self %', 'self ms', 'function', 'where'],
      rows: hot.map((h) => [
        h.selfPercent.toFixed(1),
        h.selfMs.toFixed(0),
        h.functionName.slice(0, 60),
        h.location,
      ]),
    }),
  );
}

/** The load of a profile: 64 B 16×4 flows, or new peers (at most 10,000, 32 at a time). */
async function profiledLoad(
  kind: ProfileKind,
  options: Options,
  generator: Generator,
  port: number,
  durationMs: number,
): Promise<string> {
  if (kind !== 'churn') {
    const workload = WORKLOADS.find((w) => w.key === '64x16') ?? WORKLOADS[0]!;
    const result = await generator.run<FlowResult>(flowJob(options, port, workload, durationMs));
    return `${Math.round(result.roundTripsPerSecond).toLocaleString('en-US')} round trips/s (${workload.name}) while profiling`;
  }
  const result = await generator.run<SessionResult>(sessionJob(port, 10_000, durationMs, 32));
  return `${Math.round(result.sessionsPerSecond).toLocaleString('en-US')} new sessions/s while profiling`;
}

/**
 * `--profile flows`: the bare relay and l7mp UDP→UDP, each under 64 B 16×4 flows with
 * `--cpu-prof`; `--profile churn`: the same accepting new peers; `--profile chain`: the ingress
 * and the sidecar of the seed chain under 64 B 16×4 flows.
 */
async function runProfile(
  kind: ProfileKind,
  options: Options,
  generator: Generator,
  workDir: string,
  servers: Servers,
): Promise<void> {
  const dir = path.join(BENCH_DIR, 'results', 'profiles');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const durationMs = Math.max(options.durationMs, 4000);
  if (kind === 'chain') {
    const chainDir = path.join(dir, `seed-chain-${stamp}`);
    const chain = await startSeedChain(workDir, servers, chainDir);
    log(`profiling the seed chain (ingress and sidecar), ${durationMs / 1000} s ...`);
    log(`  ${await profiledLoad(kind, options, generator, chain.port, durationMs)}`);
    await stopTracked(chain.ingress.child);
    await stopTracked(chain.sidecar.child);
    printHotFunctions(path.join(chainDir, 'ingress'), 'seed chain ingress (UDP → WebSocket, UDP echo)');
    printHotFunctions(path.join(chainDir, 'sidecar'), 'seed chain sidecar (WebSocket → UDS)');
    log('\nOpen a .cpuprofile in Chrome DevTools (Performance tab) or speedscope.app for a flame graph.');
    return;
  }
  const relayDir = path.join(dir, `relay-${kind}-${stamp}`);
  const relay = track(
    await startRelay(servers.udpEchoPort, kind === 'flows' ? LONG_IDLE_MS : CHURN_IDLE_MS, relayDir),
  );
  log(`profiling the bare relay (${kind}), ${durationMs / 1000} s ...`);
  log(`  ${await profiledLoad(kind, options, generator, relay.port, durationMs)}`);
  await stopTracked(relay.child);
  printHotFunctions(relayDir, `bare relay (${kind})`);
  const name = `udp-udp-${kind}-${stamp}`;
  const proxyDir = path.join(dir, name);
  const idle = kind === 'flows' ? LONG_IDLE_MS : CHURN_IDLE_MS;
  const proxy = track(
    await startProxy(
      name,
      workDir,
      {
        listeners: [udpListener(idle, { destination: 'udp-echo' })],
        clusters: [udpEchoCluster(servers.udpEchoPort)],
      },
      { cpuProfileDir: proxyDir },
    ),
  );
  const port = await listenerPort(proxy, 'udp-in');
  log(`profiling l7mp UDP→UDP (${kind}), ${durationMs / 1000} s ...`);
  log(`  ${await profiledLoad(kind, options, generator, port, durationMs)}`);
  await stopTracked(proxy.child);
  printHotFunctions(proxyDir, `l7mp UDP→UDP (${kind})`);
  log('\nOpen a .cpuprofile in Chrome DevTools (Performance tab) or speedscope.app for a flame graph.');
}

async function updateDocs(markdown: string): Promise<void> {
  const file = path.join(ROOT_DIR, 'docs', 'performance.md');
  const start = '<!-- bench:results:start -->';
  const end = '<!-- bench:results:end -->';
  const text = await readFile(file, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new BenchError(file, `has no ${start} ... ${end} section to replace`);
  await writeFile(file, `${text.slice(0, from + start.length)}\n${markdown}\n${text.slice(to)}`);
  log(`updated ${path.relative(ROOT_DIR, file)}`);
}

interface Meta {
  date: string;
  mode: string;
  runsPerCell: number;
  windowMs: number;
  warmupMs: number;
  lossTimeoutMs: number;
  node: string;
  cpus: number;
  cpuModel: string;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  commit: string;
  elapsedSeconds: number;
}

interface Results {
  meta: Meta;
  workloads: Workload[];
  flows: FlowSummary[];
  churn: ChurnSummary[];
  memory: MemorySummary | undefined;
  bars: Bar[];
  raw: FlowCell[];
}

/** Prints the tables and writes them as JSON (to `jsonFile` and latest.json) and Markdown (latest.md, docs). */
async function publish(results: Results, jsonFile: string, options: Options): Promise<void> {
  const { meta, flows, churn, memory, bars } = results;
  const tables = [
    flows.length > 0 ? flowTable(flows) : undefined,
    churn.length > 0 ? churnTable(churn) : undefined,
    memory !== undefined ? memoryTable(memory) : undefined,
    bars.length > 0 ? barsTable(bars) : undefined,
  ].filter((table) => table !== undefined);
  for (const table of tables) log(`\n${renderText(table)}`);
  const resultsDir = path.join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const json = JSON.stringify(results, null, 2);
  await writeFile(jsonFile, `${json}\n`);
  await writeFile(path.join(resultsDir, 'latest.json'), `${json}\n`);
  const markdown = [
    `Run of ${meta.date} (${meta.mode}, ${meta.runsPerCell} run(s) of ${meta.windowMs / 1000} s per cell; ` +
      `medians, ratios taken within each run), commit ${meta.commit}, Node ${meta.node}, ` +
      `${meta.cpus} × ${meta.cpuModel}, load average before/after ` +
      `${meta.loadAverageBefore[0]?.toFixed(2)} / ${meta.loadAverageAfter[0]?.toFixed(2)}.`,
    ...tables.flatMap((table) => ['', renderMarkdown(table)]),
  ].join('\n');
  await writeFile(path.join(resultsDir, 'latest.md'), `${markdown}\n`);
  log(`\nresults: ${path.relative(ROOT_DIR, jsonFile)} (and bench/results/latest.json, latest.md)`);
  if (options.updateDocs) await updateDocs(markdown);
}

/** `--report <file>`: the summaries and bars again from the raw runs of a results file. */
async function report(file: string, options: Options): Promise<void> {
  const stored = JSON.parse(await readFile(file, 'utf8')) as Results;
  const flows = summarizeFlows(stored.raw);
  const bars = evaluateBars(flows, stored.churn, stored.memory ?? undefined);
  await publish({ ...stored, flows, bars }, path.resolve(file), options);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.report !== undefined) {
    await report(options.report, options);
    return;
  }
  const began = Date.now();
  const loadBefore = loadavg();
  if (options.build) buildBin();
  const workDir = await mkdtemp(path.join(tmpdir(), 'l7mp-bench-'));
  let generator: Generator | undefined;
  let servers: Servers | undefined;
  // Ctrl-C or a kill: the proxies and servers are separate processes and would outlive the bench.
  const interrupt = (signal: NodeJS.Signals): void => {
    log(`\n${signal}: stopping the child processes`);
    void Promise.all([...children].map((child) => stopChild(child, 1000))).finally(() =>
      process.exit(signal === 'SIGINT' ? 130 : 143),
    );
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    generator = track(await Generator.start());
    servers = track(await startServers(path.join(workDir, 'echo.sock')));
    if (options.profile !== undefined) {
      await runProfile(options.profile, options, generator, workDir, servers);
      return;
    }
    log(
      `l7mp UDP bench: ${options.quick ? 'quick' : 'full'}, ${options.runs} run(s) of ${options.durationMs / 1000} s per cell, ` +
        `${cpus().length} CPUs, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
    );
    let cells: FlowCell[] = [];
    if (options.phases.has('flows')) {
      const targets = await startTargets(workDir, servers, options.targets);
      log('\nthroughput and latency (closed loop; flows × datagrams in flight per flow)');
      cells = await measureFlows(options, generator, targets);
      for (const child of [...children]) {
        if (child !== generator.child && child !== servers.child) await stopTracked(child);
      }
    }
    const flows = summarizeFlows(cells);
    let churn: ChurnSummary[] = [];
    if (options.phases.has('churn')) {
      log(
        '\nsession churn (each new peer: bind a new source address:port, one datagram, wait for the reply)',
      );
      churn = await measureChurn(options, generator, workDir, servers);
    }
    let memory: MemorySummary | undefined;
    if (options.phases.has('memory')) {
      log('\nmemory per idle UDP server-mode session');
      memory = await measureMemory(options, generator, workDir, servers);
    }
    const bars = evaluateBars(flows, churn, memory);
    const loadAfter = loadavg();
    const date = new Date();
    const meta: Meta = {
      date: date.toISOString(),
      mode: options.quick ? 'quick' : 'full',
      runsPerCell: options.runs,
      windowMs: options.durationMs,
      warmupMs: options.warmupMs,
      lossTimeoutMs: LOSS_TIMEOUT_MS,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
      commit: gitCommit(),
      elapsedSeconds: (Date.now() - began) / 1000,
    };
    const jsonFile = path.join(
      BENCH_DIR,
      'results',
      `bench-${meta.mode}-${date.toISOString().replace(/[:.]/g, '-')}.json`,
    );
    await publish(
      { meta, workloads: options.workloads, flows, churn, memory, bars, raw: cells },
      jsonFile,
      options,
    );
    log(`done in ${meta.elapsedSeconds.toFixed(0)} s`);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    for (const child of [...children]) await stopTracked(child);
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
