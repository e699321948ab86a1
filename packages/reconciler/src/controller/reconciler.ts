import { readFileSync } from 'node:fs';
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Endpoints,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  CONDITION_ACCEPTED,
  CONDITION_PROGRAMMED,
  CRD_GROUP,
  CRD_KIND_INFO,
  CRD_VERSION,
  type ConfigDocument,
  type CrdCondition,
  type CrdKind,
} from '@l7mp/config';
import { LeaderElector, type LeaderElectionOptions } from '../leader/elector';
import { silentLogger, type Logger } from '../logger';
import { isLivePod, podKey, proxyApiAddress } from '../render/pods';
import { renderDesiredState } from '../render/render';
import { RenderCache, type DesiredState, type OwnedConfig, type ResourceVerdict } from '../render/types';
import type { BackoffOptions } from '../sync/backoff';
import { ProxyClient } from '../sync/client';
import { resourceOfObject } from '../sync/merge';
import { syncProxy } from '../sync/sync';
import { ResilientInformer } from './informer';
import { hasOwnedObjects, ProgrammedMarks } from './programmed';
import { WorkQueue, type ProcessOutcome } from './queue';

export interface ReconcilerHooks {
  onReconcile?(event: {
    proxy: string;
    outcome: 'unchanged' | 'applied' | 'error';
    durationMs: number;
    calls: number;
  }): void;
  onError?(event: { proxy?: string; resource?: string; error: Error }): void;
  /** After every render of the desired state (validation of changed resources included). */
  onRender?(event: { durationMs: number; proxies: number; resources: number }): void;
  onQueueDepth?(depth: number): void;
  onProxiesInSync?(inSync: number, total: number): void;
  onLeadership?(leading: boolean): void;
}

export interface ReconcilerOptions {
  readonly kubeConfig: KubeConfig;
  /** Watched namespaces; empty or undefined: all namespaces. */
  readonly namespaces?: readonly string[];
  /** Port of the proxies' REST API (default 1234). */
  readonly apiPort?: number;
  readonly token?: string;
  /** File holding the bearer token (a mounted Secret); read at every call, so rotation works. */
  readonly tokenFile?: string;
  /** Full resync of every proxy with a fresh GET (default 30000). */
  readonly resyncPeriodMs?: number;
  readonly requestTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  readonly informerRestartDelayMs?: number;
  /** Proxies synced at the same time (default 16). */
  readonly concurrency?: number;
  /** Coalesces bursts of watch events into one render (default 20). */
  readonly renderDelayMs?: number;
  readonly leaderElection?: LeaderElectionOptions;
  readonly logger?: Logger;
  readonly hooks?: ReconcilerHooks;
  /** reportingController of Events (default 'l7mp-operator'). */
  readonly fieldManager?: string;
}

export interface ProxyStatus {
  readonly key: string;
  readonly address: string;
  readonly inSync: boolean;
  readonly lastError?: string;
  readonly calls: number;
}

export interface Reconciler {
  start(): Promise<void>;
  stop(): Promise<void>;
  isLeader(): boolean;
  proxies(): ProxyStatus[];
}

interface ProxyState {
  client: ProxyClient;
  /** What the proxy ran after the last successful sync; undefined: read it first. */
  known: ConfigDocument | undefined;
  /** Fingerprint of the desired config the proxy last got; undefined: not in sync. */
  synced: string | undefined;
  /** Fingerprint of the desired config a sync in flight is applying. */
  syncing: string | undefined;
  lastError: string | undefined;
  /** Resource → problem on this proxy after the last sync. */
  problems: Map<string, string>;
  /** Pod container state last seen, to notice a restarted proxy process. */
  containers: string;
}

const KINDS: readonly CrdKind[] = ['VirtualService', 'Target', 'Rule'];
const EMPTY: OwnedConfig = { listeners: [], clusters: [], rules: [] };
// Each render makes new ProxyDesiredConfig objects: their fingerprint is computed once per object,
// not at every in-sync check (those run after every sync and every status write, for every proxy).
const fingerprints = new WeakMap<object, string>();
const fingerprint = (proxy: { readonly address: string; readonly owned: OwnedConfig }): string => {
  let print = fingerprints.get(proxy);
  if (print === undefined) {
    print = `${proxy.address}\n${JSON.stringify(proxy.owned)}`;
    fingerprints.set(proxy, print);
  }
  return print;
};
const EMPTY_TARGET = (address: string) => ({ address, owned: EMPTY });

/** Wait after the first status change before writing, to batch the changes of a burst. */
const STATUS_DELAY_MS = 50;
/** Status writes wait while proxies are being programmed, but never longer than this. */
const STATUS_MAX_DEFER_MS = 1000;
/** Status PATCHes in flight at once, so a burst does not starve the proxy syncs. */
const STATUS_CONCURRENCY = 8;

/**
 * What rendering reads of a custom resource: everything but its status, resourceVersion and
 * managedFields. A status write (ours, after every sync) changes none of it and needs no render.
 */
function renderInput(object: KubernetesObject): string {
  const { status: _status, ...rest } = object as KubernetesObject & { status?: unknown };
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = rest.metadata ?? {};
  return JSON.stringify({ ...rest, metadata: meta });
}

/** What identifies one run of a pod's containers: a restart changes it. */
function containerState(pod: V1Pod): string {
  return (pod.status?.containerStatuses ?? [])
    .map(
      (c) =>
        `${c.name}:${c.restartCount}:${c.containerID ?? ''}:${String(c.state?.running?.startedAt ?? '')}`,
    )
    .join(',');
}

const errorOf = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** Creates the reconciler: informers, render, per-proxy work queue, status and events. */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  const logger = options.logger ?? silentLogger;
  const hooks = options.hooks ?? {};
  const apiPort = options.apiPort ?? 1234;
  const namespaces =
    options.namespaces !== undefined && options.namespaces.length > 0 ? [...options.namespaces] : [undefined];
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
  const cache = new RenderCache();
  const proxyStates = new Map<string, ProxyState>();
  const marks = new ProgrammedMarks(core);
  /** Proxies that get a fresh GET at their next sync. */
  const fresh = new Set<string>();
  const writtenStatus = new Map<string, string>();
  const emittedEvents = new Set<string>();
  /** What rendering reads of each custom resource (by uid), to skip renders for status writes. */
  const renderedInputs = new Map<string, string>();
  let statusRequestedAt: number | undefined;
  let statusWriting = false;
  let statusAgain = false;
  let desired: DesiredState = { proxies: new Map(), resources: new Map() };
  let informers: ResilientInformer<KubernetesObject>[] = [];
  let renderTimer: NodeJS.Timeout | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let running = false;
  let queue: WorkQueue | undefined;
  let elector: LeaderElector | undefined;
  let transition: Promise<void> = Promise.resolve();

  const token = (): string | undefined => {
    if (options.tokenFile !== undefined) {
      try {
        return readFileSync(options.tokenFile, 'utf8').trim();
      } catch (error) {
        logger.error(
          { file: options.tokenFile, err: errorOf(error).message },
          'cannot read the proxy API token file',
        );
        return options.token;
      }
    }
    return options.token;
  };

  // ---------------------------------------------------------------- informers

  const pods = new Map<string, ResilientInformer<KubernetesObject>>();
  const byKind = new Map<string, ResilientInformer<KubernetesObject>[]>();
  const collect = <T>(kind: string): T[] => (byKind.get(kind) ?? []).flatMap((i) => [...i.list()] as T[]);

  const onPodChange = (type: 'add' | 'update' | 'delete', object: KubernetesObject) => {
    const pod = object as V1Pod;
    const key = podKey(pod);
    // Our own programmed-mark write changes nothing a render reads (nor the containers).
    if (marks.observe(type, pod)) return;
    const state = proxyStates.get(key);
    if (state !== undefined && type !== 'delete') {
      const containers = containerState(pod);
      if (containers !== state.containers) {
        // A restarted container may be a new proxy process that lost its config: read it again.
        state.containers = containers;
        fresh.add(key);
        state.synced = undefined;
        // A sync in flight may have read the old process: the next render queues another one.
        state.syncing = undefined;
      }
    }
    scheduleRender();
  };

  function buildInformers(): ResilientInformer<KubernetesObject>[] {
    const list: ResilientInformer<KubernetesObject>[] = [];
    const add = (kind: string, informer: ResilientInformer<KubernetesObject>) => {
      byKind.set(kind, [...(byKind.get(kind) ?? []), informer]);
      list.push(informer);
    };
    const common = {
      kubeConfig: options.kubeConfig,
      restartDelayMs: options.informerRestartDelayMs ?? 1000,
      logger,
      onError: (error: Error) => hooks.onError?.({ error }),
    };
    const other = () => scheduleRender();
    const onResourceChange = (type: 'add' | 'update' | 'delete', object: KubernetesObject) => {
      const uid = object.metadata?.uid;
      if (uid === undefined) {
        scheduleRender();
        return;
      }
      if (type === 'delete') {
        renderedInputs.delete(uid);
        scheduleRender();
        return;
      }
      const input = renderInput(object);
      if (type === 'update' && renderedInputs.get(uid) === input) return;
      renderedInputs.set(uid, input);
      scheduleRender();
    };
    for (const ns of namespaces) {
      const scope = ns === undefined ? '' : `/namespaces/${ns}`;
      const podInformer = new ResilientInformer<KubernetesObject>({
        ...common,
        path: `/api/v1${scope}/pods`,
        list: () =>
          ns === undefined ? core.listPodForAllNamespaces() : core.listNamespacedPod({ namespace: ns }),
        onChange: onPodChange,
      });
      pods.set(ns ?? '', podInformer);
      add('pods', podInformer);
      add(
        'endpoints',
        new ResilientInformer<KubernetesObject>({
          ...common,
          path: `/api/v1${scope}/endpoints`,
          list: () =>
            ns === undefined
              ? core.listEndpointsForAllNamespaces()
              : core.listNamespacedEndpoints({ namespace: ns }),
          onChange: other,
        }),
      );
      for (const kind of KINDS) {
        const plural = CRD_KIND_INFO[kind].plural;
        add(
          kind,
          new ResilientInformer<KubernetesObject>({
            ...common,
            path: `/apis/${CRD_GROUP}/${CRD_VERSION}${scope}/${plural}`,
            list: async () =>
              (ns === undefined
                ? await custom.listClusterCustomObject({ group: CRD_GROUP, version: CRD_VERSION, plural })
                : await custom.listNamespacedCustomObject({
                    group: CRD_GROUP,
                    version: CRD_VERSION,
                    namespace: ns,
                    plural,
                  })) as {
                items: KubernetesObject[];
              },
            onChange: onResourceChange,
          }),
        );
      }
    }
    return list;
  }

  // ---------------------------------------------------------------- render → queue

  function scheduleRender(): void {
    if (!running || renderTimer !== undefined) return;
    renderTimer = setTimeout(() => {
      renderTimer = undefined;
      render();
    }, options.renderDelayMs ?? 20);
  }

  function render(): void {
    // This render reads the caches as they are now, so it covers every event a pending render was for.
    if (renderTimer !== undefined) clearTimeout(renderTimer);
    renderTimer = undefined;
    if (!running || !informers.every((i) => i.synced)) {
      // Rendering before every cache is filled would remove objects of resources not listed yet.
      if (running) scheduleRender();
      return;
    }
    const previous = desired;
    const started = Date.now();
    desired = renderDesiredState(
      {
        pods: collect<V1Pod>('pods'),
        endpoints: collect<V1Endpoints>('endpoints'),
        virtualServices: collect('VirtualService'),
        targets: collect('Target'),
        rules: collect('Rule'),
      },
      { apiPort, cache },
    );
    hooks.onRender?.({
      durationMs: Date.now() - started,
      proxies: desired.proxies.size,
      resources: desired.resources.size,
    });
    const allPods = collect<V1Pod>('pods');
    const stateFor = (key: string, address: string): ProxyState => {
      let state = proxyStates.get(key);
      if (state === undefined || state.client.address !== address) {
        const pod = allPods.find((p) => podKey(p) === key);
        state = {
          client: new ProxyClient({
            address,
            token,
            ...(options.requestTimeoutMs !== undefined ? { timeoutMs: options.requestTimeoutMs } : {}),
          }),
          known: undefined,
          synced: undefined,
          syncing: undefined,
          lastError: undefined,
          problems: new Map(),
          containers: pod !== undefined ? containerState(pod) : '',
        };
        proxyStates.set(key, state);
      }
      return state;
    };
    const queueUnlessSynced = (key: string, state: ProxyState, print: string) => {
      // A sync in flight with this very config needs no second run (it retries by itself if it fails).
      if (state.synced !== print && state.syncing !== print) queue?.add(key);
    };
    for (const [key, proxy] of desired.proxies) {
      queueUnlessSynced(key, stateFor(key, proxy.address), fingerprint(proxy));
    }
    // A pod marked as programmed that nothing selects any more (maybe since before an operator
    // restart) is synced with an empty owned part, which removes its objects and then the mark.
    for (const pod of allPods) {
      const key = podKey(pod);
      if (desired.proxies.has(key) || !isLivePod(pod) || !marks.isMarked(pod)) continue;
      const address = proxyApiAddress(pod, apiPort);
      queueUnlessSynced(key, stateFor(key, address), fingerprint(EMPTY_TARGET(address)));
    }
    // A pod no longer selected by anything gets its owned objects removed once (if it still runs).
    for (const key of previous.proxies.keys()) {
      if (!desired.proxies.has(key) && proxyStates.has(key)) queue?.add(key);
    }
    scheduleStatus();
    reportInSync();
  }

  async function processProxy(key: string): Promise<ProcessOutcome> {
    const state = proxyStates.get(key);
    if (state === undefined) return 'done';
    const target = desired.proxies.get(key);
    const pod = collect<V1Pod>('pods').find((p) => podKey(p) === key);
    const podAlive =
      pod !== undefined && pod.status?.podIP !== undefined && pod.metadata?.deletionTimestamp == null;
    if (target === undefined && !podAlive) {
      // The pod is gone: nothing to clean up on it.
      proxyStates.delete(key);
      queue?.forget(key);
      return 'done';
    }
    const owned = target?.owned ?? EMPTY;
    const print = fingerprint(target ?? EMPTY_TARGET(state.client.address));
    const started = Date.now();
    const before = state.client.calls;
    state.syncing = print;
    const programs = hasOwnedObjects(owned);
    /** The mark could not be written: the key is retried with backoff although the proxy is in sync. */
    let markError: Error | undefined;
    const mark = async (marked: boolean) => {
      if (pod === undefined || marks.isMarked(pod) === marked) return;
      await marks.mark(pod, marked).catch((error: unknown) => {
        markError = errorOf(error);
      });
    };
    try {
      // Recorded before the PUT: an operator stopped right after the PUT still finds this proxy.
      if (programs) await mark(true);
      const readFirst = fresh.delete(key) || state.known === undefined;
      const result = await syncProxy(state.client, owned, {
        ...(readFirst ? {} : { known: state.known }),
        resources: target?.resources ?? [],
      });
      state.known = result.document;
      if (!programs) await mark(false);
      // Not in sync when the pod's process changed meanwhile: the next render queues a fresh read.
      state.synced = state.syncing === print ? print : undefined;
      state.syncing = undefined;
      state.lastError = undefined;
      state.problems = new Map(result.problems.map((p) => [resourceOfObject(p.resource), p.message]));
      for (const p of result.problems) {
        logger.warn({ proxy: key, resource: p.resource, problem: p.message }, 'object left off the proxy');
      }
      hooks.onReconcile?.({
        proxy: key,
        outcome: result.outcome,
        durationMs: Date.now() - started,
        calls: result.calls,
      });
      if (result.outcome === 'applied')
        logger.info({ proxy: key, calls: result.calls }, 'proxy config applied');
      scheduleStatus();
      reportInSync();
      if (markError !== undefined) {
        logger.warn({ proxy: key, err: markError.message }, 'cannot record the proxy pod; retrying');
        hooks.onError?.({ proxy: key, error: markError });
        return 'retry';
      }
      if (target === undefined) proxyStates.delete(key);
      return 'done';
    } catch (error) {
      const err = errorOf(error);
      state.known = undefined;
      state.synced = undefined;
      state.syncing = undefined;
      state.lastError = err.message;
      logger.warn(
        { proxy: key, err: err.message, failures: (queue?.failuresOf(key) ?? 0) + 1 },
        'proxy sync failed; retrying with backoff',
      );
      hooks.onError?.({ proxy: key, error: err });
      hooks.onReconcile?.({
        proxy: key,
        outcome: 'error',
        durationMs: Date.now() - started,
        calls: state.client.calls - before,
      });
      if (target !== undefined) {
        const pod = collect<V1Pod>('pods').find((p) => podKey(p) === key);
        if (pod !== undefined)
          emitEvent(pod as KubernetesObject, 'Pod', 'v1', 'ProxySyncFailed', err.message);
      }
      scheduleStatus();
      reportInSync();
      return 'retry';
    }
  }

  function reportInSync(): void {
    if (hooks.onProxiesInSync === undefined) return;
    let inSync = 0;
    for (const [key, proxy] of desired.proxies) {
      if (proxyStates.get(key)?.synced === fingerprint(proxy)) inSync += 1;
    }
    hooks.onProxiesInSync(inSync, desired.proxies.size);
  }

  // ---------------------------------------------------------------- status and events

  function scheduleStatus(): void {
    if (!running || statusTimer !== undefined) return;
    statusRequestedAt ??= Date.now();
    statusTimer = setTimeout(flushStatuses, STATUS_DELAY_MS);
  }

  function flushStatuses(): void {
    statusTimer = undefined;
    if (!running) return;
    // Programming the proxies comes first: a cold start would otherwise send a PATCH per resource
    // while the proxies wait. The deferral is bounded so statuses never starve.
    const busy = (queue?.pending() ?? 0) > 0;
    if (busy && Date.now() - (statusRequestedAt ?? 0) < STATUS_MAX_DEFER_MS) {
      statusTimer = setTimeout(flushStatuses, STATUS_DELAY_MS);
      return;
    }
    if (statusWriting) {
      statusAgain = true;
      return;
    }
    statusRequestedAt = undefined;
    statusWriting = true;
    void writeStatuses().finally(() => {
      statusWriting = false;
      if (statusAgain) {
        statusAgain = false;
        scheduleStatus();
      }
    });
  }

  function conditionsOf(v: ResourceVerdict): CrdCondition[] {
    const generation = v.generation;
    const gen = generation !== undefined ? { observedGeneration: generation } : {};
    const accepted: CrdCondition = {
      type: CONDITION_ACCEPTED,
      status: v.accepted ? 'True' : 'False',
      reason: v.reason,
      message: v.message,
      ...gen,
    };
    if (!v.accepted) {
      return [
        accepted,
        {
          type: CONDITION_PROGRAMMED,
          status: 'False',
          reason: 'NotAccepted',
          message: 'the resource is not valid',
          ...gen,
        },
      ];
    }
    let programmed = 0;
    const problems: string[] = v.problems.map((p) => `${p.proxy}: ${p.message}`);
    for (const key of v.proxies) {
      const proxy = desired.proxies.get(key);
      const state = proxyStates.get(key);
      if (proxy === undefined || state === undefined) continue;
      const problem = state.problems.get(v.canonicalName);
      if (problem !== undefined) problems.push(`${key}: ${problem}`);
      else if (state.lastError !== undefined) problems.push(`${key}: ${state.lastError}`);
      else if (state.synced === fingerprint(proxy) && !v.problems.some((p) => p.proxy === key))
        programmed += 1;
    }
    const total = v.proxies.length;
    const done = programmed === total;
    const message = `${programmed}/${total} proxies programmed${problems.length > 0 ? `; ${problems.slice(0, 5).join('; ')}` : ''}`;
    return [
      accepted,
      {
        type: CONDITION_PROGRAMMED,
        status: done ? 'True' : 'False',
        reason: done ? 'Programmed' : problems.length > 0 ? 'ProxyError' : 'Pending',
        message,
        ...gen,
      },
    ];
  }

  async function writeStatuses(): Promise<void> {
    if (!running) return;
    const current = new Map<string, KubernetesObject>();
    for (const kind of KINDS) {
      for (const o of collect<KubernetesObject>(kind)) {
        current.set(
          `/${CRD_GROUP}/${CRD_VERSION}/${kind}/${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`,
          o,
        );
      }
    }
    const writes: (() => Promise<void>)[] = [];
    for (const [name, v] of desired.resources) {
      const object = current.get(name);
      if (object === undefined) continue;
      const conditions = conditionsOf(v);
      const signature = JSON.stringify(conditions);
      if (writtenStatus.get(name) === `${object.metadata?.uid ?? ''}${signature}`) continue;
      const old = ((object as { status?: { conditions?: CrdCondition[] } }).status?.conditions ??
        []) as CrdCondition[];
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const withTimes = conditions.map((c) => {
        const before = old.find((o) => o.type === c.type);
        const same = before !== undefined && before.status === c.status;
        return {
          ...c,
          lastTransitionTime:
            same && before.lastTransitionTime !== undefined ? before.lastTransitionTime : now,
        };
      });
      const unchanged =
        old.length === withTimes.length &&
        withTimes.every((c) => {
          const before = old.find((o) => o.type === c.type);
          return (
            before !== undefined &&
            before.status === c.status &&
            before.reason === c.reason &&
            before.message === c.message &&
            before.observedGeneration === c.observedGeneration
          );
        });
      writtenStatus.set(name, `${object.metadata?.uid ?? ''}${signature}`);
      if (!v.accepted) emitEvent(object, v.kind, `${CRD_GROUP}/${CRD_VERSION}`, v.reason, v.message);
      if (unchanged) continue;
      writes.push(() =>
        custom
          .patchNamespacedCustomObjectStatus(
            {
              group: CRD_GROUP,
              version: CRD_VERSION,
              namespace: v.namespace,
              plural: CRD_KIND_INFO[v.kind].plural,
              name: v.name,
              body: {
                status: {
                  conditions: withTimes,
                  ...(v.generation !== undefined ? { observedGeneration: v.generation } : {}),
                },
              },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          )
          .then(
            () => undefined,
            (error: unknown) => {
              // Written again at the next change or resync.
              writtenStatus.delete(name);
              logger.warn({ resource: name, err: errorOf(error).message }, 'cannot write status');
              hooks.onError?.({ resource: name, error: errorOf(error) });
            },
          ),
      );
    }
    let next = 0;
    const worker = async () => {
      while (running && next < writes.length) {
        const write = writes[next++];
        if (write !== undefined) await write();
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATUS_CONCURRENCY, writes.length) }, worker));
  }

  function emitEvent(
    object: KubernetesObject,
    kind: string,
    apiVersion: string,
    reason: string,
    message: string,
  ): void {
    const meta = object.metadata ?? {};
    const dedupe = `${meta.uid ?? ''}\0${reason}\0${message}`;
    if (emittedEvents.has(dedupe) || !running) return;
    emittedEvents.add(dedupe);
    if (emittedEvents.size > 10_000) emittedEvents.clear();
    const namespace = meta.namespace ?? 'default';
    const now = new Date();
    core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${meta.name ?? 'object'}.`, namespace },
          involvedObject: {
            apiVersion,
            kind,
            name: meta.name,
            namespace,
            uid: meta.uid,
            resourceVersion: meta.resourceVersion,
          },
          reason,
          message: message.slice(0, 1024),
          type: 'Warning',
          source: { component: options.fieldManager ?? 'l7mp-operator' },
          reportingComponent: options.fieldManager ?? 'l7mp-operator',
          reportingInstance: options.leaderElection?.identity ?? 'l7mp-operator',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((error: unknown) => logger.warn({ err: errorOf(error).message }, 'cannot create event'));
  }

  // ---------------------------------------------------------------- lifecycle

  async function startWorking(): Promise<void> {
    if (running) return;
    running = true;
    queue = new WorkQueue(processProxy, {
      ...(options.backoff !== undefined ? { backoff: options.backoff } : {}),
      onDepth: (d) => hooks.onQueueDepth?.(d),
      concurrency: options.concurrency ?? 16,
    });
    informers = buildInformers();
    await Promise.all(informers.map((i) => i.start()));
    render();
    const resync = options.resyncPeriodMs ?? 30_000;
    resyncTimer = setInterval(() => {
      for (const key of proxyStates.keys()) {
        fresh.add(key);
        queue?.add(key);
      }
      writtenStatus.clear();
      scheduleStatus();
    }, resync);
    logger.info({ namespaces: options.namespaces ?? 'all' }, 'reconciler started');
  }

  async function stopWorking(): Promise<void> {
    if (!running) return;
    running = false;
    for (const t of [renderTimer, statusTimer]) if (t !== undefined) clearTimeout(t);
    if (resyncTimer !== undefined) clearInterval(resyncTimer);
    renderTimer = statusTimer = resyncTimer = undefined;
    queue?.stop();
    queue = undefined;
    await Promise.all(informers.map((i) => i.stop()));
    informers = [];
    byKind.clear();
    pods.clear();
    proxyStates.clear();
    marks.clear();
    writtenStatus.clear();
    renderedInputs.clear();
    statusRequestedAt = undefined;
    statusAgain = false;
  }

  const serialise = (step: () => Promise<void>) => {
    transition = transition.then(step, step);
    return transition;
  };

  return {
    async start() {
      if (options.leaderElection === undefined) {
        await serialise(startWorking);
        hooks.onLeadership?.(true);
        return;
      }
      elector = new LeaderElector(
        options.kubeConfig,
        options.leaderElection,
        {
          onStartedLeading: () => {
            hooks.onLeadership?.(true);
            void serialise(startWorking).catch((e: unknown) =>
              logger.error({ err: errorOf(e).message }, 'cannot start reconciling'),
            );
          },
          onStoppedLeading: () => {
            hooks.onLeadership?.(false);
            void serialise(stopWorking);
          },
        },
        logger,
      );
      elector.start();
    },
    async stop() {
      await elector?.stop();
      elector = undefined;
      await serialise(stopWorking);
    },
    isLeader: () => (options.leaderElection === undefined ? running : (elector?.isLeader() ?? false)),
    proxies: () =>
      [...proxyStates.entries()].map(([key, s]) => {
        const proxy = desired.proxies.get(key);
        return {
          key,
          address: s.client.address,
          inSync: proxy !== undefined && s.synced === fingerprint(proxy),
          ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
          calls: s.client.calls,
        };
      }),
  };
}
