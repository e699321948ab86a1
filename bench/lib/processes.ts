/** Starting, querying and stopping the child processes of a bench run (proxies, relay, echo, generator). */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, type RawData } from 'ws';
import type { FromGenerator, FromServers, Job, JobResult, ToGenerator } from './messages';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
export const PROXY_DIR = path.join(ROOT_DIR, 'packages', 'proxy');
export const PROXY_BIN = path.join(PROXY_DIR, 'dist', 'bin', 'l7mp-proxy.cjs');

/** The bench's own TypeScript children run through tsx, as the orchestrator does. */
const TS_EXEC_ARGV = ['--import', 'tsx'];

export class BenchError extends Error {
  constructor(what: string, reason: string) {
    super(`${what}: ${reason}`);
    this.name = 'BenchError';
  }
}

/** A TCP port that was free a moment ago (for a proxy's REST API, which must be known before it starts). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 6000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, graceMs)) return;
  child.kill('SIGKILL');
  await waitForExit(child, 2000);
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new BenchError(`process ${pid}`, 'no VmRSS in /proc status');
  return Number(match[1]) * 1024;
}

/** CPU time (user + system) of a process in seconds, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// ------------------------------------------------------------------ load generator

export class Generator {
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (result: JobResult) => void; reject: (error: Error) => void }
  >();

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: FromGenerator) => {
      if (message.type === 'ready') return;
      const waiter = this.waiting.get(message.id);
      if (waiter === undefined) return;
      this.waiting.delete(message.id);
      if (message.type === 'result') waiter.resolve(message.result);
      else waiter.reject(new BenchError('load generator', message.message));
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) {
        waiter.reject(new BenchError('load generator', `exited (code ${code}, signal ${signal})`));
      }
      this.waiting.clear();
    });
  }

  static async start(): Promise<Generator> {
    const child = fork(path.join(BENCH_DIR, 'loadgen.ts'), [], { execArgv: TS_EXEC_ARGV, stdio: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) =>
        reject(new BenchError('load generator', `exited at start (code ${code})`)),
      );
    });
    return new Generator(child);
  }

  run<R extends JobResult>(job: Job): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.waiting.set(id, { resolve: (result) => resolve(result as R), reject });
      const message: ToGenerator = { type: 'run', id, job };
      this.child.send(message);
    });
  }
}

// ------------------------------------------------------------------ echo servers and bare relay

export interface Servers {
  child: ChildProcess;
  udpEchoPort: number;
  udsEchoPath: string;
}

export async function startServers(udsPath: string): Promise<Servers> {
  const child = fork(path.join(BENCH_DIR, 'servers.ts'), [udsPath], {
    execArgv: TS_EXEC_ARGV,
    stdio: 'inherit',
  });
  const ready = await new Promise<FromServers>((resolve, reject) => {
    child.once('message', (message: FromServers) => resolve(message));
    child.once('exit', (code) => reject(new BenchError('echo servers', `exited at start (code ${code})`)));
  });
  return { child, udpEchoPort: ready.udpEchoPort, udsEchoPath: ready.udsEchoPath };
}

export interface Relay {
  child: ChildProcess;
  port: number;
}

export async function startRelay(
  upstreamPort: number,
  idleTimeoutMs: number,
  cpuProfileDir?: string,
): Promise<Relay> {
  // No fixed file name: tsx's loader thread writes a profile of its own next to the main thread's.
  const profileArgs = cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`];
  const child = spawn(
    process.execPath,
    [
      ...profileArgs,
      ...TS_EXEC_ARGV,
      path.join(BENCH_DIR, 'relay.ts'),
      String(upstreamPort),
      String(idleTimeoutMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(seen);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new BenchError('bare relay', `exited at start (code ${code})`)));
  });
  return { child, port };
}

// ------------------------------------------------------------------ l7mp proxies

export interface ProxyProcess {
  name: string;
  child: ChildProcess;
  apiPort: number;
  stderr: string[];
  /** The inspector's WebSocket URL, when started with `inspect`. */
  inspectorUrl?: string;
}

const API_LISTENER = (port: number): Record<string, unknown> => ({
  name: 'bench-api',
  spec: { protocol: 'HTTP', port, address: '127.0.0.1' },
  rules: [
    { action: { route: { destination: { name: 'l7mp-controller', spec: { protocol: 'L7mpController' } } } } },
  ],
});

export interface ProxyOptions {
  /** Where to write a V8 CPU profile on exit (node --cpu-prof), if profiling. */
  cpuProfileDir?: string;
  /** Open the V8 inspector on a free loopback port, so the bench can force a GC (`forceGc`). */
  inspect?: boolean;
}

/**
 * Spawns the built bin with `config` (plus a REST API listener on a free port) at log level warn,
 * and resolves once its API answers.
 */
export async function startProxy(
  name: string,
  workDir: string,
  config: { listeners: Record<string, unknown>[]; clusters: Record<string, unknown>[] },
  options: ProxyOptions = {},
): Promise<ProxyProcess> {
  const apiPort = await freeTcpPort();
  const file = path.join(workDir, `${name}.yaml`);
  // JSON is YAML; the file is for the bin, and for a human reproducing a run.
  const document = {
    admin: { log_level: 'warn' },
    ...config,
    listeners: [API_LISTENER(apiPort), ...config.listeners],
  };
  await writeFile(file, JSON.stringify(document, null, 2));
  const profileArgs =
    options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`];
  const inspectArgs = options.inspect === true ? ['--inspect=127.0.0.1:0'] : [];
  const child = spawn(
    process.execPath,
    [...profileArgs, ...inspectArgs, PROXY_BIN, '-c', file, '-l', 'warn'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const stderr: string[] = [];
  const proxy: ProxyProcess = { name, child, apiPort, stderr };
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    proxy.inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(text)?.[1];
    stderr.push(text);
    if (stderr.length > 200) stderr.shift();
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new BenchError(`proxy "${name}"`, `exited at start:\n${stderr.join('')}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${apiPort}/api/v1/listeners`);
      if (response.ok) return proxy;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new BenchError(`proxy "${name}"`, `REST API on port ${apiPort} did not answer within 15 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Number of open file descriptors of a process (sockets included), from /proc/<pid>/fd. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Runs a full, memory-reducing GC in a proxy started with `inspect`, through the inspector
 * protocol (HeapProfiler.collectGarbage), and returns the V8 heap in use afterwards.
 */
export async function forceGc(proxy: ProxyProcess): Promise<{ heapUsedBytes: number }> {
  if (proxy.inspectorUrl === undefined) {
    throw new BenchError(`proxy "${proxy.name}"`, 'was not started with the inspector');
  }
  const socket = new WebSocket(proxy.inspectorUrl);
  await once(socket, 'open');
  const call = (id: number, method: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const onMessage = (data: RawData): void => {
        const message = JSON.parse(data.toString()) as {
          id?: number;
          result?: Record<string, unknown>;
          error?: unknown;
        };
        if (message.id !== id) return;
        socket.off('message', onMessage);
        if (message.error !== undefined)
          reject(new BenchError(`inspector ${method}`, JSON.stringify(message.error)));
        else resolve(message.result ?? {});
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method }));
    });
  try {
    await call(1, 'HeapProfiler.collectGarbage');
    const usage = await call(2, 'Runtime.getHeapUsage');
    return { heapUsedBytes: Number(usage.usedSize ?? 0) };
  } finally {
    socket.close();
  }
}

export async function apiGet<T>(proxy: ProxyProcess, pathname: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${proxy.apiPort}/api/v1${pathname}`);
  if (!response.ok) {
    throw new BenchError(`proxy "${proxy.name}"`, `GET ${pathname} answered ${response.status}`);
  }
  return (await response.json()) as T;
}

/** The port a listener of `proxy` is bound to (listeners in the bench configs bind port 0). */
export async function listenerPort(proxy: ProxyProcess, listener: string): Promise<number> {
  const dump = await apiGet<{ bound?: { port?: number } }>(proxy, `/listeners/${listener}`);
  const port = dump.bound?.port;
  if (typeof port !== 'number') {
    throw new BenchError(`proxy "${proxy.name}"`, `listener "${listener}" reports no bound port`);
  }
  return port;
}

export function udpEchoCluster(port: number): Record<string, unknown> {
  return {
    name: 'udp-echo',
    spec: { protocol: 'UDP', port },
    endpoints: [{ name: 'udp-echo-1', spec: { address: '127.0.0.1' } }],
  };
}

export function udpListener(idleTimeoutMs: number, route: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'udp-in',
    spec: { protocol: 'UDP', port: 0, address: '127.0.0.1', options: { idle_timeout: idleTimeoutMs } },
    rules: [{ action: { route } }],
  };
}
