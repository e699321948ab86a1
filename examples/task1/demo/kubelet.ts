// The mesh demo's stand-in for a scheduler plus kubelet: it watches Pod objects in the embedded
// API server and runs every pod of task1's three roles as local processes on a loopback address
// of its own, then reports the pod Running and Ready with that address as its podIP (status
// subresource), the way a kubelet would. Deleting the Pod stops its processes.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { ChangeEvent, DevApiServer } from '@l7mp/dev-apiserver';
import { DemoError, startProcess, stopProcess, type PodProcess } from './processes';
import { PORTS, REPO_ROOT, type PodRole } from './topology';

const DEMO_DIR = path.join(REPO_ROOT, 'examples/task1/demo');
const READY_TIMEOUT_MS = 20_000;

/** The `app` label of each role, as in the seed's manifests and the l7mp-ingress chart. */
export const ROLE_LABELS: Record<PodRole, string> = {
  ingress: 'l7mp-ingress',
  transcoder: 'transcoder',
  worker: 'worker',
};

export interface LocalPod {
  readonly name: string;
  readonly role: PodRole;
  /** The pod's loopback address, its podIP. */
  readonly address: string;
  /** The pod's private directory; `<dir>/tmp` plays its /tmp (the transcoder's socket). */
  readonly dir: string;
  /** The REST API of the pod's proxy. */
  readonly api: string;
  readonly processes: PodProcess[];
  /** Resolves when every process printed its ready line; rejects when one failed to start. */
  readonly ready: Promise<void>;
}

export interface KubeletOptions {
  server: DevApiServer;
  /** Three octets of a 127.0.0.0/8 /24, e.g. `127.0.0`. */
  subnet: string;
  /** Where buildBins put l7mp-sidecar.cjs and l7mp-ingress.cjs. */
  binDir: string;
  runDir: string;
  namespace?: string;
  /** The host numbers handed out in the subnet, in order (default 10-254). */
  hosts?: { first: number; last: number };
  /** Called when a pod's process exits while the pod still exists. */
  onUnexpectedExit?: (pod: LocalPod, process: PodProcess) => void;
  /** Called when a pod cannot be started (no address left, a process failed). */
  onError?: (pod: string, error: Error) => void;
}

interface PodObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { containers?: { name?: string }[] };
  status?: { podIP?: string };
}

const roleOf = (labels: Record<string, string> | undefined): PodRole | undefined =>
  (Object.keys(ROLE_LABELS) as PodRole[]).find((role) => labels?.app === ROLE_LABELS[role]);

/** The first host number handed out: .10 is the ingress, .11-.12 the transcoders, .13-.14 the workers. */
const FIRST_HOST = 10;
const LAST_HOST = 254;

export class LocalKubelet {
  private readonly pods = new Map<string, LocalPod>();
  private readonly deleted = new Set<string>();
  private nextHost: number;
  private readonly lastHost: number;
  private unsubscribe: (() => void) | undefined;
  private stopping = false;
  private readonly namespace: string;

  constructor(private readonly options: KubeletOptions) {
    this.namespace = options.namespace ?? 'default';
    this.nextHost = options.hosts?.first ?? FIRST_HOST;
    this.lastHost = options.hosts?.last ?? LAST_HOST;
  }

  /** Starts watching; pods that exist already are started too. */
  start(): void {
    this.unsubscribe = this.options.server.subscribe((event) => this.onChange(event));
    for (const pod of this.options.server.list('v1', 'pods', this.namespace)) {
      this.onChange({ type: 'ADDED', apiVersion: 'v1', plural: 'pods', object: pod });
    }
  }

  /** The pods running now (not the deleted ones). */
  list(): LocalPod[] {
    return [...this.pods.values()];
  }

  get(name: string): LocalPod | undefined {
    return this.pods.get(name);
  }

  /** Stops watching and every process. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const pods = [...this.pods.values()];
    this.pods.clear();
    await Promise.all(pods.flatMap((pod) => pod.processes.map(stopProcess)));
  }

  private onChange(event: ChangeEvent): void {
    if (event.apiVersion !== 'v1' || event.plural !== 'pods' || this.stopping) return;
    const pod = event.object as PodObject;
    const name = pod.metadata?.name;
    if (name === undefined || pod.metadata?.namespace !== this.namespace) return;
    if (event.type === 'DELETED') {
      this.deleted.add(name);
      const running = this.pods.get(name);
      this.pods.delete(name);
      if (running !== undefined) void Promise.all(running.processes.map(stopProcess));
      return;
    }
    // A pod that already has an IP runs elsewhere (or was created ready-made, e.g. by a test).
    if (event.type !== 'ADDED' || pod.status?.podIP !== undefined) return;
    const role = roleOf(pod.metadata?.labels);
    if (role === undefined) return;
    this.deleted.delete(name);
    // Not inside the API server's write: the status patch below is a write of its own.
    setImmediate(() => {
      this.run(name, role, pod).catch((error: unknown) => {
        this.options.onError?.(name, error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  private allocateAddress(name: string): string {
    if (this.nextHost > this.lastHost) {
      throw new DemoError(`no loopback address left in ${this.options.subnet}.0/24 for pod ${name}`);
    }
    return `${this.options.subnet}.${this.nextHost++}`;
  }

  private async run(name: string, role: PodRole, object: PodObject): Promise<void> {
    const address = this.allocateAddress(name);
    const dir = path.join(this.options.runDir, 'pods', name);
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    const processes: PodProcess[] = [];
    const pod: LocalPod = {
      name,
      role,
      address,
      dir,
      api: `http://${address}:${PORTS.api}/api/v1`,
      processes,
      ready: Promise.resolve(),
    };
    const start = (container: string, args: string[]): PodProcess => {
      const p = startProcess(`${name}/${container}`, process.execPath, args, {
        cwd: REPO_ROOT,
        env: { ...process.env, POD_NAME: name, POD_IP: address, POD_NAMESPACE: this.namespace },
        logFile: path.join(this.options.runDir, 'logs', `${name}_${container}.log`),
        readyTimeoutMs: READY_TIMEOUT_MS,
      });
      processes.push(p);
      return p;
    };
    for (const [container, args] of this.containers(role, name, address, dir)) start(container, args);
    const ready = Promise.all(processes.map((p) => p.ready)).then(() => undefined);
    ready.catch(() => {});
    const running: LocalPod = { ...pod, ready };
    this.pods.set(name, running);
    try {
      await ready;
    } catch (error) {
      this.pods.delete(name);
      await Promise.all(processes.map(stopProcess));
      const failure = error instanceof Error ? error : new Error(String(error));
      // Reported before the status write, so whoever waits on the pod's status sees the reason.
      this.options.onError?.(name, failure);
      this.setStatus(name, { phase: 'Failed', message: failure.message });
      return;
    }
    if (this.deleted.has(name) || this.stopping) {
      await Promise.all(processes.map(stopProcess));
      return;
    }
    for (const p of processes) {
      void p.exited.then(() => {
        if (this.pods.get(name) !== running || this.stopping) return;
        this.setStatus(name, { phase: 'Failed', message: `${p.label} exited` });
        this.options.onUnexpectedExit?.(running, p);
      });
    }
    const containers = (object.spec?.containers ?? []).map((c) => c.name ?? 'main');
    this.setStatus(name, {
      phase: 'Running',
      podIP: address,
      containers: containers.length > 0 ? containers : processes.map((p) => p.label.split('/')[1] ?? 'main'),
    });
  }

  /** The processes of a pod of `role`: the seed's containers, as local processes. */
  private containers(role: PodRole, name: string, address: string, dir: string): [string, string[]][] {
    const tsx = ['--import', 'tsx'];
    const proxyFlags = ['-s', '-l', 'info', '--listener-address', address];
    const sidecar: [string, string[]] = [
      'sidecar',
      [path.join(this.options.binDir, 'l7mp-sidecar.cjs'), ...proxyFlags, '--uds-dir', path.join(dir, 'tmp')],
    ];
    switch (role) {
      case 'ingress':
        return [['l7mp', [path.join(this.options.binDir, 'l7mp-ingress.cjs'), ...proxyFlags]]];
      case 'transcoder':
        return [
          [
            'echo',
            [
              ...tsx,
              path.join(DEMO_DIR, 'uds-echo.ts'),
              '--socket',
              path.join(dir, 'tmp', 'uds-echo.sock'),
              '--mode',
              'stream',
              '--pod',
              name,
            ],
          ],
          sidecar,
        ];
      case 'worker':
        return [
          [
            'echo',
            [
              ...tsx,
              path.join(DEMO_DIR, 'udp-echo.ts'),
              '--address',
              address,
              '--port',
              String(PORTS.worker),
              '--pod',
              name,
            ],
          ],
          sidecar,
        ];
    }
  }

  private setStatus(
    name: string,
    state: { phase: 'Running' | 'Failed'; podIP?: string; containers?: string[]; message?: string },
  ): void {
    const running = state.phase === 'Running';
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status: Record<string, unknown> = {
      phase: state.phase,
      hostIP: '127.0.0.1',
      ...(state.podIP !== undefined ? { podIP: state.podIP, podIPs: [{ ip: state.podIP }] } : {}),
      ...(state.message !== undefined ? { message: state.message } : {}),
      conditions: [
        { type: 'Ready', status: running ? 'True' : 'False', lastTransitionTime: now },
        { type: 'ContainersReady', status: running ? 'True' : 'False', lastTransitionTime: now },
      ],
      ...(state.containers !== undefined
        ? {
            startTime: now,
            containerStatuses: state.containers.map((container) => ({
              name: container,
              ready: running,
              restartCount: 0,
              image: 'local',
              imageID: 'local',
              started: running,
              state: { running: { startedAt: now } },
            })),
          }
        : {}),
    };
    try {
      this.options.server.patch('v1', 'pods', this.namespace, name, { status }, 'status');
    } catch {
      // The pod was deleted meanwhile: nothing to report on.
    }
  }
}
