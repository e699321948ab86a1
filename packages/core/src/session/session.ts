import type { FlatRoute, RetryPolicy } from '@l7mp/config';
import { ConnectError, ConnectTimeoutError, L7mpError, NotFoundError } from '../errors';
import { cloneValue, setAtPath } from '../rules/path';
import type { ClusterEntry } from '../store/entries';
import type {
  AcceptResult,
  Conduit,
  EndpointTarget,
  IncomingConnection,
  ResponseHead,
  SessionMetadata,
} from '../transport/types';
import { connectOrAbort, messageOf, pause } from './connect';
import type { SessionHost } from './host';
import { lookupRoute } from './lookup';
import { Stage, type StageOwner } from './stage';

/** Anchor §1.8 session statuses. */
export type SessionStatus = 'INIT' | 'CONNECTED' | 'FINALIZING' | 'DESTROYED';

export interface SessionEvent {
  event: 'INIT' | 'LOOKUP SUCCESS' | 'CONNECT' | 'DISCONNECT' | 'ERROR' | 'END' | 'DESTROY';
  timestamp: string;
  message: string;
  content?: unknown;
}

/** The session was ended (API delete, listener delete, proxy close) while it was being set up. */
export class SessionEndedError extends L7mpError {
  constructor(name: string) {
    super(`Session "${name}" ended during setup`, { status: 503 });
  }
}

/** How long a gracefully ended conduit may take to close on its own before it is destroyed. */
export const SESSION_LINGER_MS = 2000;

const SETUP_POLICIES: ReadonlySet<RetryPolicy> = new Set(['connect-failure', 'always']);
const RECONNECT_POLICIES: ReadonlySet<RetryPolicy> = new Set(['disconnect', 'always']);

function statusOf(error: unknown, fallback: number): number {
  return error instanceof L7mpError ? error.status : fallback;
}

/**
 * A routed connection: its metadata, stages, status and event log (anchor §1.8).
 *
 * Retries (anchor §8, with the product fix): `num_retries` is the number of attempts after the
 * first one, at setup and at reconnect alike, so a stage gets `num_retries + 1` attempts with a
 * pause of `timeout` ms between them and `timeout` ms for each connect. Every attempt looks the
 * cluster up by name and re-runs its load balancer, excluding endpoints that already failed for
 * this stage (unless no other is left).
 */
export class Session implements StageOwner {
  readonly name: string;
  readonly listener: string;
  metadata: SessionMetadata;
  status: SessionStatus = 'INIT';
  /** The event log; times are kept as numbers and formatted only when someone reads them. */
  private readonly eventLog: {
    event: SessionEvent['event'];
    time: number;
    message: string;
    content?: unknown;
  }[] = [];
  readonly source: Stage;
  ingress: Stage[] = [];
  egress: Stage[] = [];
  destination: Stage | undefined;
  /** A copy of the route taken at routing time; later route edits do not affect the session. */
  route: FlatRoute | undefined;
  readonly createdAt = new Date();
  private track = 0;
  /**
   * Aborted when the session ends while a connect or reconnect waits on it. Created on demand
   * and dropped when nothing waits, so an idle session does not carry one.
   */
  private lifetimeController: AbortController | undefined;
  /** Connects or reconnects in flight; only they listen to `lifetime`, so only they need its abort. */
  private waiting = 0;
  private lingering: Set<Conduit> | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly listenerSpec: unknown;

  constructor(
    private readonly host: SessionHost,
    name: string,
    listener: string,
    private readonly connection: IncomingConnection,
  ) {
    this.name = name;
    this.listener = listener;
    const metadata = cloneValue(connection.metadata);
    this.metadata =
      metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata) ? metadata : {};
    this.metadata.name = name;
    this.source = new Stage(this, 'source', listener);
    this.source.conduit = connection.conduit;
    this.source.retriable = connection.reconnect !== undefined;
    const entry = host.store.listeners.get(listener);
    this.listenerSpec = entry?.spec;
    if (entry !== undefined) {
      this.source.spec = entry.spec;
      this.source.ownerStats = entry.stats;
    }
    this.pushEvent('INIT', `Session ${name} initialized`);
  }

  /** Every stage in ring order: source, ingress…, destination, egress…. */
  stages(): Stage[] {
    const destination = this.destination === undefined ? [] : [this.destination];
    return [this.source, ...this.ingress, ...destination, ...this.egress];
  }

  private get lifetime(): AbortController {
    return (this.lifetimeController ??= new AbortController());
  }

  /** Marks the start of a wait on the lifetime signal. */
  private beginWait(): AbortSignal {
    this.waiting++;
    return this.lifetime.signal;
  }

  /** Ends a wait; the controller is let go once nothing waits and it was not aborted. */
  private endWait(): void {
    this.waiting--;
    if (this.waiting === 0 && this.lifetimeController?.signal.aborted === false)
      this.lifetimeController = undefined;
  }

  /** Anchor §1.8 event log: INIT, LOOKUP SUCCESS, CONNECT, DISCONNECT, ERROR, END, DESTROY. */
  get events(): SessionEvent[] {
    return this.eventLog.map(({ event, time, message, content }) => ({
      event,
      timestamp: new Date(time).toISOString(),
      message,
      ...(content !== undefined ? { content } : {}),
    }));
  }

  private pushEvent(event: SessionEvent['event'], message: string, content?: unknown): void {
    this.eventLog.push(
      content === undefined
        ? { event, time: Date.now(), message }
        : { event, time: Date.now(), message, content },
    );
  }

  /** Routes and connects the session; resolves with what the listener reports to its peer. */
  async start(): Promise<AcceptResult> {
    try {
      this.route = this.resolveRoute();
      this.buildStages(this.route);
      await this.connectAll(this.route);
    } catch (error) {
      return this.setupFailed(error);
    }
    if (this.status !== 'INIT') return this.setupFailed(new SessionEndedError(this.name));
    this.status = 'CONNECTED';
    for (const stage of this.stages()) stage.status = 'READY';
    this.warnUnframedHops();
    try {
      this.connection.established?.();
    } catch (error) {
      this.host.logger.warn({ session: this.name, err: error }, 'listener established() callback failed');
    }
    this.pushEvent('CONNECT', 'Session successfully connected');
    this.host.sessionConnected(this);
    // Handlers go on only now: a conduit queues what arrives before, and every `next` is set.
    // Queued events may end the session right away (a peer that already left).
    for (const stage of this.stages()) {
      if (this.status !== 'CONNECTED') break;
      stage.attach();
    }
    return { ok: true, status: 200, message: 'OK' };
  }

  private resolveRoute(): FlatRoute {
    const { store } = this.host;
    const listener = store.listeners.get(this.listener);
    if (listener === undefined) throw new NotFoundError(`Cannot find listener "${this.listener}"`);
    this.track = listener.options.track;
    const match = lookupRoute(store, listener.rules, this.metadata);
    if (match === undefined) throw new NotFoundError(`No route for session "${this.name}"`);
    this.pushEvent('LOOKUP SUCCESS', `Successfull lookup on rulelist:${match.rulelist}/rule:${match.rule}`);
    for (const rewrite of match.action.rewrite ?? []) {
      const result = setAtPath(this.metadata, rewrite.path, rewrite.value);
      this.metadata =
        result !== null && typeof result === 'object' && !Array.isArray(result)
          ? (result as SessionMetadata)
          : {};
    }
    this.metadata.name = this.name;
    const routeName = match.action.route;
    if (routeName === undefined) throw new NotFoundError(`Invalid route for session "${this.name}"`);
    const route = store.routes.get(routeName);
    if (route === undefined) {
      throw new NotFoundError(`Cannot find Route "${routeName}" for session "${this.name}"`);
    }
    return cloneValue(route);
  }

  private buildStages(route: FlatRoute): void {
    this.ingress = route.ingress.map((cluster, i) => new Stage(this, 'ingress', cluster, i));
    this.destination = new Stage(this, 'destination', route.destination);
    this.egress = route.egress.map((cluster, i) => new Stage(this, 'egress', cluster, i));
    const ring = this.stages();
    ring.forEach((stage, i) => {
      stage.next = ring[(i + 1) % ring.length] ?? stage;
      stage.prev = ring[(i - 1 + ring.length) % ring.length] ?? stage;
    });
  }

  /** Connects every cluster stage concurrently; the first stage that gives up stops the others. */
  private async connectAll(route: FlatRoute): Promise<void> {
    const attempts = SETUP_POLICIES.has(route.retry.retry_on) ? route.retry.num_retries + 1 : 1;
    const stages = this.stages().slice(1);
    const lifetime = this.beginWait();
    try {
      if (stages.length === 1) {
        // The common route (destination only) needs no sibling cancellation.
        await this.connectCluster(stages[0]!, attempts, lifetime, new Set());
        return;
      }
      await this.connectConcurrently(stages, attempts, lifetime);
    } catch (error) {
      if (lifetime.aborted) throw new SessionEndedError(this.name);
      const message = `Pipeline setup failed for session "${this.name}": ${messageOf(error)}`;
      throw new ConnectError(message, { status: statusOf(error, 503), cause: error });
    } finally {
      this.endWait();
    }
  }

  /** Several stages at once; the first failure aborts the others and is the one reported. */
  private async connectConcurrently(stages: Stage[], attempts: number, lifetime: AbortSignal): Promise<void> {
    const setup = new AbortController();
    const stopSetup = (): void => setup.abort(new SessionEndedError(this.name));
    lifetime.addEventListener('abort', stopSetup, { once: true });
    let firstError: unknown;
    try {
      const results = await Promise.allSettled(
        stages.map((stage) =>
          this.connectCluster(stage, attempts, setup.signal, new Set()).catch((error: unknown) => {
            firstError ??= error;
            setup.abort(error);
            throw error;
          }),
        ),
      );
      if (results.some((r) => r.status === 'rejected')) throw firstError;
    } finally {
      lifetime.removeEventListener('abort', stopSetup);
    }
  }

  /** Connects one cluster stage with up to `attempts` tries; sets it CONNECTED or throws. */
  private async connectCluster(
    stage: Stage,
    attempts: number,
    signal: AbortSignal,
    failed: Set<string>,
  ): Promise<void> {
    const timeout = this.route?.retry.timeout ?? 2000;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        stage.status = 'RETRYING';
        this.host.metrics.retry(stage.origin);
        await pause(timeout, signal);
      }
      if (signal.aborted) break;
      try {
        await this.openCluster(stage, timeout, signal, failed);
        return;
      } catch (error) {
        lastError = error;
        this.host.metrics.connectFailure(stage.origin);
        this.host.logger.debug(
          { session: this.name, cluster: stage.origin, attempt, attempts, err: messageOf(error) },
          'connect attempt failed',
        );
      }
    }
    stage.status = 'END';
    if (signal.aborted && lastError === undefined) throw signal.reason;
    throw new ConnectError(
      `Cannot connect to cluster "${stage.origin}" after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${messageOf(lastError)}`,
      { status: statusOf(lastError, 503), cause: lastError },
    );
  }

  private async openCluster(
    stage: Stage,
    timeout: number,
    signal: AbortSignal,
    failed: Set<string>,
  ): Promise<void> {
    const cluster = this.host.store.clusters.get(stage.origin);
    if (cluster === undefined) throw new NotFoundError(`Cannot find cluster "${stage.origin}"`);
    const endpoint = cluster.transport.virtual ? undefined : cluster.balancer.pick(this.metadata, failed);
    this.host.metrics.clusterRequest(cluster.name, cluster.spec.protocol);
    let conduit: Conduit;
    try {
      // The transport gets the session's signal and the timeout; the race here makes sure a
      // transport that ignores either still cannot hold the session longer than `timeout`.
      conduit = await connectOrAbort(
        () =>
          cluster.transport.connect({
            endpoint,
            sessionName: this.name,
            metadata: this.metadata,
            timeoutMs: timeout,
            signal,
          }),
        signal,
        timeout,
        () =>
          new ConnectTimeoutError(
            endpoint === undefined
              ? `Cluster "${cluster.name}"`
              : `Cluster "${cluster.name}" endpoint "${endpoint.name}"`,
            timeout,
          ),
      );
    } catch (error) {
      if (endpoint !== undefined) failed.add(endpoint.name);
      throw error;
    }
    if (signal.aborted) {
      conduit.destroy();
      throw signal.reason;
    }
    this.bindStage(stage, cluster, endpoint, conduit);
  }

  private bindStage(
    stage: Stage,
    cluster: ClusterEntry,
    endpoint: EndpointTarget | undefined,
    conduit: Conduit,
  ): void {
    stage.conduit = conduit;
    stage.endpoint = endpoint;
    stage.virtual = cluster.transport.virtual;
    stage.retriable = cluster.transport.retriable;
    stage.spec = cluster.spec;
    stage.ownerStats = cluster.stats;
    const endpointEntry = endpoint === undefined ? undefined : cluster.endpoints.get(endpoint.name);
    if (endpointEntry !== undefined) stage.endpointStats = endpointEntry.stats;
    stage.balancer = cluster.balancer;
    if (endpoint !== undefined) cluster.balancer.acquired?.(endpoint.name);
    stage.status = 'CONNECTED';
  }

  private warnUnframedHops(): void {
    const route = this.route;
    if (route === undefined) return;
    // Walk the ring once from the source, following whether what a stage emits has message
    // boundaries: a transform (virtual stage) passes on the kind of what it was fed, so Echo
    // answering a TCP client is not a datagram stream, while UDP → JSONEncap → TCP is.
    const stages = this.stages();
    const start = stages.indexOf(this.source);
    let bounded = this.source.conduit.kind === 'datagram';
    for (let i = 0; i < stages.length; i++) {
      const stage = stages[(start + i) % stages.length]!;
      if (i > 0 && !stage.virtual) bounded = stage.conduit.kind === 'datagram';
      const next = stage.next;
      if (!bounded || next.virtual || next.conduit.kind !== 'byte-stream') continue;
      const framing = next.spec?.framing;
      if (framing === undefined || framing === 'none')
        this.host.unframedHop(route.name, stage.origin, next.origin);
    }
  }

  private setupFailed(error: unknown): AcceptResult {
    const err = error instanceof Error ? error : new Error(String(error));
    const result: AcceptResult = {
      ok: false,
      status: statusOf(err, 500),
      message: err.message,
      ...(err instanceof L7mpError ? { content: err.content } : {}),
    };
    if (this.status === 'INIT') {
      try {
        this.connection.reject?.(result);
      } catch (rejectError) {
        this.host.logger.warn({ session: this.name, err: rejectError }, 'listener reject() callback failed');
      }
      this.fail(err);
    }
    return result;
  }

  // ---------------------------------------------------------------- runtime

  /** A stage's conduit closed: reconnect it if the route says so, else end the session. */
  stageClosed(stage: Stage, error: Error | undefined): void {
    if (this.status !== 'CONNECTED') return;
    const expected = stage.endSent;
    const lost = stage.endpoint;
    this.pushEvent(
      'DISCONNECT',
      `Session.disconnect: Stage: ${stage.origin}: ${error !== undefined ? `Error: ${error.message}` : 'Reason: unknown'}`,
    );
    stage.status = 'DISCONNECTED';
    stage.detach().destroy();
    this.host.sessionDisconnected(this, stage.origin, error);
    const policy = this.route?.retry.retry_on ?? 'never';
    if (expected || !RECONNECT_POLICIES.has(policy)) {
      this.end();
      return;
    }
    if (stage.role === 'source' && this.connection.reconnect === undefined) {
      // Nobody is left to serve: a source that cannot be reopened ends the session normally.
      this.end();
      return;
    }
    if (!stage.retriable) {
      this.fail(new L7mpError(`Stage "${stage.origin}" of session "${this.name}" is not retriable`));
      return;
    }
    void this.reconnect(stage, lost);
  }

  /** Disconnects stages that use the endpoint (it was deleted recursively). */
  endpointRemoved(cluster: string, endpoint: string): void {
    for (const stage of this.stages()) {
      if (stage.role !== 'source' && stage.origin === cluster && stage.endpoint?.name === endpoint) {
        if (stage.status === 'READY') this.stageClosed(stage, new Error(`Endpoint "${endpoint}" deleted`));
      }
    }
  }

  /** Whether any cluster stage of the session goes through the cluster. */
  traverses(cluster: string): boolean {
    return this.stages().some((stage) => stage.role !== 'source' && stage.origin === cluster);
  }

  private async reconnect(stage: Stage, lost: EndpointTarget | undefined): Promise<void> {
    const attempts = (this.route?.retry.num_retries ?? 0) + 1;
    const failed = new Set<string>(lost !== undefined ? [lost.name] : []);
    const lifetime = this.beginWait();
    try {
      if (stage.role === 'source') await this.reopenSource(attempts, lifetime);
      else await this.connectCluster(stage, attempts, lifetime, failed);
    } catch (error) {
      this.endWait();
      if (this.status === 'CONNECTED') {
        this.fail(
          new ConnectError(`Reconnect failed for session "${this.name}": ${messageOf(error)}`, {
            status: statusOf(error, 503),
            cause: error,
          }),
        );
      }
      return;
    }
    this.endWait();
    if (this.status !== 'CONNECTED') {
      stage.detach().destroy();
      return;
    }
    stage.status = 'READY';
    stage.attach();
    // What arrived while the stage was away goes first, then the paused upstream resumes.
    stage.flushBacklog();
    stage.prev.conduit.resume();
    if (this.status !== 'CONNECTED') return;
    this.pushEvent('CONNECT', 'Session successfully connected');
    this.host.sessionConnected(this);
  }

  private async reopenSource(attempts: number, signal: AbortSignal): Promise<void> {
    const reopen = this.connection.reconnect;
    if (reopen === undefined) throw new L7mpError(`Source of session "${this.name}" cannot be reopened`);
    const timeout = this.route?.retry.timeout ?? 2000;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        this.source.status = 'RETRYING';
        await pause(timeout, signal);
      }
      if (signal.aborted) break;
      try {
        const attemptSignal = AbortSignal.any([signal, AbortSignal.timeout(timeout)]);
        this.source.conduit = await connectOrAbort(() => reopen.call(this.connection), attemptSignal);
        if (signal.aborted) {
          this.source.detach().destroy();
          break;
        }
        this.source.status = 'CONNECTED';
        return;
      } catch (error) {
        lastError = error;
      }
    }
    this.source.status = 'END';
    throw new ConnectError(`Cannot reopen the source of session "${this.name}": ${messageOf(lastError)}`);
  }

  forwardHead(stage: Stage, head: ResponseHead): void {
    if (stage.role === 'destination' || stage.role === 'egress') this.source.conduit.writeHead?.(head);
  }

  // ---------------------------------------------------------------- ending

  /** Ends the session normally (END event), half-closing every conduit. */
  end(message = 'Normal end'): void {
    if (this.status === 'FINALIZING' || this.status === 'DESTROYED') return;
    this.pushEvent('END', message);
    this.status = 'FINALIZING';
    this.host.sessionEnded(this, undefined);
    this.teardown(true);
  }

  /** Ends the session with an error (ERROR event); cluster conduits are destroyed. */
  fail(error: Error): void {
    if (this.status === 'FINALIZING' || this.status === 'DESTROYED') return;
    this.pushEvent('ERROR', error.message, error instanceof L7mpError ? error.content : undefined);
    this.status = 'FINALIZING';
    this.host.sessionEnded(this, error);
    this.teardown(false);
  }

  /** Destroys every conduit now (proxy close); safe to call in any state. */
  destroyNow(): void {
    if (this.status !== 'FINALIZING' && this.status !== 'DESTROYED') {
      this.pushEvent('END', 'Proxy closed');
      this.status = 'FINALIZING';
      this.host.sessionEnded(this, undefined);
      this.teardown(false);
    }
    this.flushLingering();
  }

  /**
   * Releases every stage. A graceful end half-closes the conduits so buffered data is flushed
   * and gives them SESSION_LINGER_MS to close before destroying them; otherwise cluster
   * conduits are destroyed at once and the source is half-closed the same way (so an error
   * response written by `reject` still reaches the peer).
   */
  private teardown(graceful: boolean): void {
    // An Error (with its stack) per ended session is measurable at high session churn; abort
    // only when a connect or reconnect is actually waiting on the session's lifetime.
    if (this.waiting > 0) this.lifetimeController?.abort(new SessionEndedError(this.name));
    for (const stage of this.stages()) {
      if (stage.status !== 'END') stage.status = 'END';
      const conduit = stage.detach();
      if (conduit.closed) continue;
      if (graceful || stage.role === 'source') {
        conduit.end();
        if (!conduit.closed) this.linger(conduit);
      } else {
        conduit.destroy();
      }
    }
    this.status = 'DESTROYED';
    this.pushEvent('DESTROY', 'Session destroyed');
    this.host.sessionDestroyed(this, this.track);
  }

  private linger(conduit: Conduit): void {
    if (this.lingering === undefined) {
      this.lingering = new Set();
      this.host.sessionLingering(this, true);
    }
    this.lingering.add(conduit);
    if (this.lingerTimer !== undefined) return;
    this.lingerTimer = setTimeout(() => this.flushLingering(), SESSION_LINGER_MS);
    this.lingerTimer.unref();
  }

  private flushLingering(): void {
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    const lingering = this.lingering;
    if (lingering === undefined) return;
    this.lingering = undefined;
    for (const conduit of lingering) conduit.destroy();
    this.host.sessionLingering(this, false);
  }

  // ---------------------------------------------------------------- dump

  /** Anchor §1.8 session dump, with real stage dumps for the chains. */
  toJSON(): Record<string, unknown> {
    const { name: _name, ...metadata } = this.metadata;
    return {
      name: this.name,
      metadata,
      source: {
        origin: this.listener,
        listener: this.listenerSpec ?? '<INVALID>',
        status: this.source.status,
      },
      destination: this.destination === undefined ? { status: 'PENDING' } : dumpStage(this.destination),
      ingress: this.ingress.map(dumpStage),
      egress: this.egress.map(dumpStage),
      status: this.status,
      events: this.events,
    };
  }
}

function dumpStage(stage: Stage): Record<string, unknown> {
  let endpoint: unknown = '<INVALID>';
  if (stage.endpoint !== undefined)
    endpoint = { name: stage.endpoint.name, spec: { ...stage.endpoint.spec } };
  else if (stage.virtual) endpoint = { name: stage.origin, spec: { address: '<VIRTUAL>' } };
  return { origin: stage.origin, endpoint, status: stage.status };
}
