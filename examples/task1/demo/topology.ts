import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DemoError, startProcess, stopProcess, type PodProcess } from './processes';

export { DemoError, ProcessStartError } from './processes';

/** The repository root (this file is examples/task1/demo/topology.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const STATIC_DIR = path.join(REPO_ROOT, 'examples/task1/static');
const DEMO_DIR = path.join(REPO_ROOT, 'examples/task1/demo');
/** Where `npm run demo` builds the bins (under node_modules, so the bundles find their dependencies). */
export const DEFAULT_BIN_DIR = path.join(REPO_ROOT, 'node_modules/.cache/l7mp-demo');

/** The ports of task1, used as in Kubernetes: every pod has its own address. */
export const PORTS = { api: 1234, metrics: 8080, gateway: 9001, websocket: 8888, worker: 9999 } as const;
const READY_TIMEOUT_MS = 20_000;

export type PodRole = 'ingress' | 'transcoder' | 'worker';

export interface Pod {
  name: string;
  role: PodRole;
  /** The pod's own loopback address (its "pod IP"). */
  address: string;
  /** The pod's private directory; `<dir>/tmp` plays the pod's /tmp (the transcoder's socket). */
  dir: string;
  /** The REST API of the pod's proxy. */
  api: string;
  processes: PodProcess[];
}

export interface Topology {
  pods: Pod[];
  /** Where UDP clients send to (the ingress's UDP:9001). */
  gateway: { address: string; port: number };
  /** The Prometheus endpoint of the ingress. */
  metrics: string;
  runDir: string;
  /** Resolves with the first process that exits on its own. */
  unexpectedExit: Promise<PodProcess>;
  /** Stops every process and removes the run directory (socket files, logs). Idempotent. */
  stop(): Promise<void>;
}


/** Parses `A.B.C`, `A.B.C.0` or `A.B.C.0/24` inside 127.0.0.0/8; returns the three-octet prefix. */
export function parseSubnet(value: string): string {
  const match = /^127\.(\d{1,3})\.(\d{1,3})(?:\.0)?(?:\/24)?$/.exec(value);
  const octets = match === null ? [] : [Number(match[1]), Number(match[2])];
  if (octets.length !== 2 || octets.some((octet) => octet > 255)) {
    throw new DemoError(
      `--subnet: expected a /24 inside 127.0.0.0/8 such as 127.0.0.0/24 or 127.42.7, got "${value}"`,
    );
  }
  return `127.${octets[0]}.${octets[1]}`;
}

/** A random 127.x.y (never 127.0.0), so parallel runs (e.g. CI jobs) do not share addresses. */
export function randomSubnet(): string {
  const [x = 1, y = 0] = randomBytes(2);
  return `127.${(x % 254) + 1}.${y}`;
}

/** Random characters as Kubernetes uses them in generated pod names. */
export function suffix(length: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('');
}

/** Pod names like a Deployment's: `<deployment>-<template hash>-<random>`. */
export function deploymentPodNames(deployment: string, replicas: number): string[] {
  const hash = suffix(10);
  return Array.from({ length: replicas }, () => `${deployment}-${hash}-${suffix(5)}`);
}

export interface BuildOptions {
  outDir?: string;
}

/** Builds the l7mp-sidecar and l7mp-ingress bins (bundled, as users run them) into `outDir`. */
export async function buildBins(options: BuildOptions = {}): Promise<string> {
  const outDir = options.outDir ?? DEFAULT_BIN_DIR;
  const { build } = await import('tsup');
  await build({
    config: false,
    entry: {
      'l7mp-sidecar': path.join(REPO_ROOT, 'packages/sidecar/src/bin/l7mp-sidecar.ts'),
      'l7mp-ingress': path.join(REPO_ROOT, 'packages/ingress/src/bin/l7mp-ingress.ts'),
    },
    outDir,
    format: ['cjs'],
    target: 'node20',
    tsconfig: path.join(REPO_ROOT, 'tsconfig.json'),
    // commander too: the packages need v14, and from outside packages/ it would resolve to
    // whatever version the root node_modules holds.
    noExternal: [/^@l7mp\//, 'l7mp-proxy', 'commander'],
    external: [/^(?!@l7mp\/|l7mp-proxy$|commander$)[^./]/],
    clean: true,
    silent: true,
  });
  return outDir;
}

export interface TopologyOptions {
  /** Three octets, e.g. `127.0.0` (see parseSubnet). */
  subnet: string;
  /** Where buildBins put the bins. */
  binDir: string;
}

/**
 * Starts task1 on one host: two worker pods (UDP echo on 9999 + a sidecar), two transcoder pods
 * (a SOCK_SEQPACKET echo app + a sidecar converting WebSocket 8888 to it), and the ingress
 * gateway (UDP 9001, ingress chain over the transcoders, destination the workers). Then adds the
 * pods as cluster endpoints through the ingress's REST API, as the operator would.
 */
export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const runDir = await mkdtemp(path.join(tmpdir(), 'l7mp-task1-'));
  await mkdir(path.join(runDir, 'logs'));
  const pods: Pod[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.all(pods.flatMap((pod) => pod.processes.map(stopProcess)));
      await rm(runDir, { recursive: true, force: true });
    })());

  // Info level at least: the demo waits for each proxy's "ready" log line.
  const logLevel = 'info';
  const sidecarBin = path.join(options.binDir, 'l7mp-sidecar.cjs');
  const ingressBin = path.join(options.binDir, 'l7mp-ingress.cjs');
  const tsx = ['--import', 'tsx'];

  const addPod = async (role: PodRole, name: string, address: string): Promise<Pod> => {
    const dir = path.join(runDir, name);
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    const pod: Pod = { name, role, address, dir, api: `http://${address}:${PORTS.api}/api/v1`, processes: [] };
    pods.push(pod);
    return pod;
  };
  const run = (pod: Pod, container: string, args: string[]): PodProcess => {
    const process_ = startProcess(`${pod.name}/${container}`, process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, POD_NAME: pod.name, POD_IP: pod.address },
      logFile: path.join(runDir, 'logs', `${pod.name}_${container}.log`),
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    pod.processes.push(process_);
    return process_;
  };
  const sidecar = (pod: Pod, config: string): PodProcess =>
    run(pod, 'sidecar', [
      sidecarBin,
      '-c',
      path.join(STATIC_DIR, config),
      '-s',
      '-l',
      logLevel,
      '--listener-address',
      pod.address,
      '--uds-dir',
      path.join(pod.dir, 'tmp'),
    ]);

  try {
    const subnet = options.subnet;
    const workerNames = deploymentPodNames('worker-deployment', 2);
    const transcoderNames = deploymentPodNames('transcoder-deployment', 2);
    const starting: PodProcess[] = [];
    const workers: Pod[] = [];
    const transcoders: Pod[] = [];
    for (const [index, name] of workerNames.entries()) {
      const pod = await addPod('worker', name, `${subnet}.${13 + index}`);
      workers.push(pod);
      starting.push(
        run(pod, 'echo', [
          ...tsx,
          path.join(DEMO_DIR, 'udp-echo.ts'),
          '--address',
          pod.address,
          '--port',
          String(PORTS.worker),
          '--pod',
          pod.name,
        ]),
        sidecar(pod, 'worker.yaml'),
      );
    }
    for (const [index, name] of transcoderNames.entries()) {
      const pod = await addPod('transcoder', name, `${subnet}.${11 + index}`);
      transcoders.push(pod);
      starting.push(
        run(pod, 'echo', [
          ...tsx,
          path.join(DEMO_DIR, 'uds-echo.ts'),
          '--socket',
          path.join(pod.dir, 'tmp', 'uds-echo.sock'),
          '--mode',
          'seqpacket',
          '--pod',
          pod.name,
        ]),
        sidecar(pod, 'transcoder.yaml'),
      );
    }
    // A DaemonSet pod: `<daemonset>-<random>`.
    const ingress = await addPod('ingress', `l7mp-ingress-${suffix(5)}`, `${subnet}.10`);
    starting.push(
      run(ingress, 'l7mp', [
        ingressBin,
        '-c',
        path.join(STATIC_DIR, 'ingress.yaml'),
        '-s',
        '-l',
        logLevel,
        '--listener-address',
        ingress.address,
      ]),
    );
    await Promise.all(starting.map((p) => p.ready));
    for (const [cluster, members] of [
      ['websocket-cluster', transcoders],
      ['udp-cluster', workers],
    ] as const) {
      for (const member of members) await addEndpoint(ingress.api, cluster, member);
    }
    const unexpectedExit = new Promise<PodProcess>((resolve) => {
      for (const p of pods.flatMap((pod) => pod.processes)) {
        void p.exited.then(() => {
          if (stopping === undefined) resolve(p);
        });
      }
    });
    return {
      pods,
      gateway: { address: ingress.address, port: PORTS.gateway },
      metrics: `http://${ingress.address}:${PORTS.metrics}/metrics`,
      runDir,
      unexpectedExit,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What the operator does when a selected pod comes up: POST it as an endpoint of the cluster. */
async function addEndpoint(api: string, cluster: string, pod: Pod): Promise<void> {
  const url = `${api}/clusters/${cluster}/endpoints`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: { name: pod.name, spec: { address: pod.address } } }),
      signal: AbortSignal.timeout(5000),
    });
  } catch (error) {
    throw new DemoError(`POST ${url} failed: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok) {
    throw new DemoError(`POST ${url} answered ${response.status}: ${await response.text()}`);
  }
}
