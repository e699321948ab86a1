// Task1 of the seed driven by the operator, on one host: an embedded Kubernetes API server
// (@l7mp/dev-apiserver), the seed's pods as local processes (see kubelet.ts), and the l7mp
// operator app itself (in-process, through the same startFromArgs the l7mp-operator bin runs),
// configuring the proxies from the seed's six custom resources.
import { createWriteStream, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocuments } from '@l7mp/config';
import { DevApiServer } from '@l7mp/dev-apiserver';
import { startFromArgs, type RunningOperator } from '@l7mp/operator';
import { applyManifest } from './apply';
import { LocalKubelet, ROLE_LABELS, type LocalPod } from './kubelet';
import { DemoError, type PodProcess } from './processes';
import { deploymentPodNames, PORTS, REPO_ROOT, suffix, type PodRole } from './topology';

export const TASK1_DIR = path.join(REPO_ROOT, 'examples/task1');
const NAMESPACE = 'default';
const POD_START_TIMEOUT_MS = 30_000;

/** The seed's six custom resources (examples/task1/*.yaml), parsed, in file name order. */
export function seedManifests(dir = TASK1_DIR): Record<string, unknown>[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .flatMap((file) => parseDocuments(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>[]);
}

export interface MeshOptions {
  /** Three octets, e.g. `127.0.0` (see parseSubnet). */
  subnet: string;
  /** Where buildBins put the bins. */
  binDir: string;
  /** Operator log level (default info); logs go to `<runDir>/logs/operator.log`. */
  operatorLogLevel?: string;
}

export interface Mesh {
  readonly server: DevApiServer;
  /** The API server, e.g. http://127.0.0.1:40123. */
  readonly apiUrl: string;
  /** A kubeconfig pointing at the API server (for kubectl and the operator). */
  readonly kubeconfig: string;
  readonly runDir: string;
  readonly operator: RunningOperator;
  readonly kubelet: LocalKubelet;
  /** The ingress gateway pod. */
  readonly ingress: LocalPod;
  /** Where UDP clients send to (the ingress's UDP:9001). */
  readonly gateway: { address: string; port: number };
  /** The pods running now, with their roles (for the seed check). */
  pods(): LocalPod[];
  /** Resolves with the first process that exits on its own. */
  readonly unexpectedExit: Promise<PodProcess>;
  /** Stops the operator, every pod and the API server; removes the run directory. Idempotent. */
  stop(): Promise<void>;
}

/** A Pod object as a Deployment/DaemonSet would create it, with the seed's labels and containers. */
export function podManifest(name: string, role: PodRole): Record<string, unknown> {
  const containers =
    role === 'ingress'
      ? [{ name: 'l7mp', image: 'l7mp/l7mp:latest' }]
      : [
          { name: 'echo', image: 'l7mp/net-debug:0.5.3' },
          { name: 'sidecar', image: 'l7mp/l7mp:latest' },
        ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE, labels: { app: ROLE_LABELS[role] } },
    spec: { containers, nodeName: 'localhost' },
  };
}

export function kubeconfigYaml(apiUrl: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: l7mp-local',
    '    cluster:',
    `      server: ${apiUrl}`,
    // @kubernetes/client-node refuses plain http:// unless this is set; kubectl ignores it for http.
    '      insecure-skip-tls-verify: true',
    'users:',
    '  - name: l7mp-local',
    '    user: {}',
    'contexts:',
    '  - name: l7mp-local',
    '    context:',
    '      cluster: l7mp-local',
    '      user: l7mp-local',
    `      namespace: ${NAMESPACE}`,
    'current-context: l7mp-local',
    '',
  ].join('\n');
}

/** Resolves once `check` holds, re-checked after every API server change; rejects after `timeoutMs`. */
export function waitForState<T>(
  server: DevApiServer,
  what: string,
  check: () => T | undefined,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let unsubscribe: () => void = () => {};
    const finish = (outcome: () => void): void => {
      clearTimeout(timer);
      unsubscribe();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(new DemoError(`timed out after ${timeoutMs} ms waiting for ${what}`))),
      timeoutMs,
    );
    // A check that throws ends the wait with its error (e.g. a pod that failed to start).
    const attempt = (): boolean => {
      try {
        const value = check();
        if (value === undefined) return false;
        finish(() => resolve(value));
      } catch (error) {
        finish(() => reject(error));
      }
      return true;
    };
    if (attempt()) return;
    unsubscribe = server.subscribe(() => {
      attempt();
    });
  });
}

interface Conditioned {
  metadata?: { name?: string; generation?: number };
  status?: { conditions?: { type?: string; status?: string; message?: string; observedGeneration?: number }[] };
}

/** `Programmed=True` for the object's current generation. */
export function isProgrammed(object: unknown): boolean {
  const o = object as Conditioned | undefined;
  return (o?.status?.conditions ?? []).some(
    (c) =>
      c.type === 'Programmed' &&
      c.status === 'True' &&
      (c.observedGeneration === undefined || c.observedGeneration === o?.metadata?.generation),
  );
}

/** The Programmed condition's message of each resource (for error reports). */
export function programmedSummary(server: DevApiServer, manifests: readonly Record<string, unknown>[]): string {
  return manifests
    .map((m) => {
      const name = (m.metadata as { name?: string } | undefined)?.name ?? '';
      const o = server.get(String(m.apiVersion), `${String(m.kind).toLowerCase()}s`, NAMESPACE, name) as
        | Conditioned
        | undefined;
      const c = o?.status?.conditions?.find((x) => x.type === 'Programmed');
      return `  ${String(m.kind)}/${name}: ${c === undefined ? 'no status yet' : `${c.status ?? '?'} (${c.message ?? ''})`}`;
    })
    .join('\n');
}

/**
 * Starts the API server, the five pods of task1 (ingress, two transcoders, two workers) and the
 * operator. The CRs are not applied: call applySeed (or use kubectl).
 */
export async function startMesh(options: MeshOptions): Promise<Mesh> {
  const runDir = await mkdtemp(path.join(tmpdir(), 'l7mp-mesh-'));
  await mkdir(path.join(runDir, 'logs'));
  const server = new DevApiServer();
  const kubeconfig = path.join(runDir, 'kubeconfig');
  let operator: RunningOperator | undefined;
  let kubelet: LocalKubelet | undefined;
  let stopping: Promise<void> | undefined;
  let reportExit: (p: PodProcess) => void = () => {};
  const unexpectedExit = new Promise<PodProcess>((resolve) => {
    reportExit = resolve;
  });
  const operatorLog = createWriteStream(path.join(runDir, 'logs', 'operator.log'), { flags: 'a' });
  operatorLog.on('error', () => {});
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      try {
        await operator?.stop();
      } finally {
        await kubelet?.stop();
        await server.stop();
        await new Promise<void>((resolve) => operatorLog.end(resolve));
        await rm(runDir, { recursive: true, force: true });
      }
    })());

  try {
    const { url: apiUrl } = await server.start();
    await writeFile(kubeconfig, kubeconfigYaml(apiUrl));
    const startErrors: string[] = [];
    const localKubelet = new LocalKubelet({
      server,
      subnet: options.subnet,
      binDir: options.binDir,
      runDir,
      namespace: NAMESPACE,
      onUnexpectedExit: (_pod, p) => {
        if (stopping === undefined) reportExit(p);
      },
      onError: (pod, error) => startErrors.push(`${pod}: ${error.message}`),
    });
    kubelet = localKubelet;
    localKubelet.start();

    // The order gives the addresses of the static demo: .10 ingress, .11-.12 transcoders, .13-.14 workers.
    const names: [string, PodRole][] = [
      [`l7mp-ingress-${suffix(5)}`, 'ingress'],
      ...deploymentPodNames('transcoder-deployment', 2).map((n): [string, PodRole] => [n, 'transcoder']),
      ...deploymentPodNames('worker-deployment', 2).map((n): [string, PodRole] => [n, 'worker']),
    ];
    for (const [name, role] of names) server.create('v1', 'pods', podManifest(name, role));
    await waitForState(
      server,
      'the five pods of task1 to be Ready',
      () => {
        if (startErrors.length > 0) throw new DemoError(`a pod failed to start:\n${startErrors.join('\n')}`);
        return names.every(([name]) => {
          const pod = server.get('v1', 'pods', NAMESPACE, name) as Conditioned | undefined;
          return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
        })
          ? true
          : undefined;
      },
      POD_START_TIMEOUT_MS,
    ).catch(async (error: unknown) => {
      // A start failure surfaces in onError after the last change; report it rather than the timeout.
      await Promise.all(localKubelet.list().map((p) => p.ready.catch(() => undefined)));
      if (startErrors.length > 0) throw new DemoError(`a pod failed to start:\n${startErrors.join('\n')}`);
      throw error;
    });

    const started = await startFromArgs(
      [
        '--kubeconfig',
        kubeconfig,
        '--namespace',
        NAMESPACE,
        '--no-leader-election',
        '--metrics-port',
        '0',
        '--metrics-address',
        '127.0.0.1',
        '--proxy-api-port',
        String(PORTS.api),
        '--log-level',
        options.operatorLogLevel ?? 'info',
      ],
      {
        stdout: (text) => operatorLog.write(text),
        stderr: (text) => operatorLog.write(text),
        env: { ...process.env, KUBECONFIG: kubeconfig },
      },
      { logDestination: operatorLog },
    );
    if (typeof started === 'number') {
      throw new DemoError(`the operator did not start (exit code ${started}); see ${runDir}/logs/operator.log`);
    }
    operator = started;
    const ingressName = names[0]?.[0] ?? '';
    const ingress = localKubelet.get(ingressName);
    if (ingress === undefined) throw new DemoError(`the ingress pod ${ingressName} is not running`);
    return {
      server,
      apiUrl,
      kubeconfig,
      runDir,
      operator: started,
      kubelet: localKubelet,
      ingress,
      gateway: { address: ingress.address, port: PORTS.gateway },
      pods: () => localKubelet.list(),
      unexpectedExit,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Applies the seed's six CRs the way `kubectl apply -f examples/task1/` does and waits until each
 * reports Programmed=True for its generation. Returns the `kubectl apply`-style lines.
 */
export async function applySeed(mesh: Mesh, timeoutMs = 30_000): Promise<string[]> {
  const manifests = seedManifests();
  const lines: string[] = [];
  for (const manifest of manifests) {
    const outcome = await applyManifest(mesh.apiUrl, manifest);
    const name = (manifest.metadata as { name?: string } | undefined)?.name ?? '';
    lines.push(`${String(manifest.kind).toLowerCase()}.l7mp.io/${name} ${outcome}`);
  }
  await waitForState(
    mesh.server,
    'every seed resource to be Programmed',
    () =>
      manifests.every((m) =>
        isProgrammed(
          mesh.server.get(
            String(m.apiVersion),
            `${String(m.kind).toLowerCase()}s`,
            NAMESPACE,
            (m.metadata as { name?: string } | undefined)?.name ?? '',
          ),
        ),
      )
        ? true
        : undefined,
    timeoutMs,
  ).catch((error: unknown) => {
    throw new DemoError(`${(error as Error).message}:\n${programmedSummary(mesh.server, manifests)}`);
  });
  return lines;
}
