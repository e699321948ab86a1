import type { LoadBalancer } from '../loadbalancer/types';
import { TrafficStats } from '../metrics/stats';
import type { Conduit, ConduitHandlers, EndpointTarget, ResponseHead } from '../transport/types';

/** Anchor §1.8 stage statuses. */
export type StageStatus = 'INIT' | 'CONNECTED' | 'READY' | 'DISCONNECTED' | 'RETRYING' | 'END';
export type StageRole = 'source' | 'ingress' | 'destination' | 'egress';

/**
 * Stands in for a stage's conduit while it has none (not connected yet, reconnecting, ended).
 * `write` returns false so the upstream stage pauses until the stage is back.
 */
class DetachedConduit implements Conduit {
  readonly kind = 'datagram' as const;
  readonly closed = true;
  write(): boolean {
    return false;
  }
  end(): void {}
  destroy(): void {}
  pause(): void {}
  resume(): void {}
  setHandlers(): void {}
}

export const DETACHED: Conduit = new DetachedConduit();

/** What a stage reports to its session; implemented by Session. */
export interface StageOwner {
  stageClosed(stage: Stage, error: Error | undefined): void;
  forwardHead(stage: Stage, head: ResponseHead): void;
}

const SCRATCH_STATS = new TrafficStats();

/** How much a reconnecting stage keeps for its new conduit. */
export const MAX_BACKLOG_BYTES = 1024 * 1024;

/**
 * One hop of a session: the source or a cluster stage. The stages of a session form a ring,
 * `source → ingress… → destination → egress… → source`: every stage's data goes to `next`, and
 * every stage is written by exactly one `prev`. Handlers look up `next.conduit` per message, so
 * a reconnected stage is picked up without re-wiring its neighbours.
 */
export class Stage {
  status: StageStatus = 'INIT';
  conduit: Conduit = DETACHED;
  endpoint: EndpointTarget | undefined;
  /** The cluster's load balancer at connect time, told when the connection goes away. */
  balancer: LoadBalancer | undefined;
  virtual = false;
  retriable = false;
  /** The listener or cluster spec (framing check, dumps). */
  spec: Readonly<Record<string, unknown>> | undefined;
  /** This session's traffic through the stage; `in` is what its conduit delivered. */
  readonly stats = new TrafficStats();
  ownerStats: TrafficStats = SCRATCH_STATS;
  endpointStats: TrafficStats = SCRATCH_STATS;
  next: Stage = this;
  prev: Stage = this;
  /** We half-closed this stage's conduit, so its close is expected rather than a failure. */
  endSent = false;
  /** Chunks that arrived for this stage while it was reconnecting; written first when it is back. */
  private backlog: Buffer[] | undefined;
  private backlogBytes = 0;
  /** Chunks dropped because the backlog was full (a datagram source cannot be paused). */
  droppedWhileAway = 0;

  constructor(
    readonly owner: StageOwner,
    readonly role: StageRole,
    /** Listener name for the source, cluster name otherwise. */
    readonly origin: string,
    readonly index = 0,
  ) {}

  /**
   * Keeps a chunk that could not be written because the stage is reconnecting. Byte-stream
   * sources pause at once, so only datagram sources can exceed the bound; those lose the excess.
   */
  hold(chunk: Buffer): void {
    if (this.backlogBytes + chunk.length > MAX_BACKLOG_BYTES) {
      this.droppedWhileAway++;
      return;
    }
    (this.backlog ??= []).push(chunk);
    this.backlogBytes += chunk.length;
  }

  /** Writes what was held to the (new) conduit, in order. */
  flushBacklog(): void {
    const backlog = this.backlog;
    if (backlog === undefined) return;
    this.backlog = undefined;
    this.backlogBytes = 0;
    for (const chunk of backlog) this.conduit.write(chunk);
  }

  /** Installs the data-path handlers on the current conduit. */
  attach(): void {
    this.endSent = false;
    this.conduit.setHandlers(new StageLink(this, this.conduit));
  }

  /** Forgets the conduit (so its later events are ignored) and returns it. */
  detach(): Conduit {
    const conduit = this.conduit;
    this.conduit = DETACHED;
    if (this.endpoint !== undefined) this.balancer?.released?.(this.endpoint.name);
    this.endpoint = undefined;
    this.balancer = undefined;
    return conduit;
  }
}

/**
 * The handlers of one stage's conduit. Bound to the conduit they were installed on so events
 * of a replaced conduit are ignored. The per-message path is the counter updates and one write.
 */
class StageLink implements ConduitHandlers {
  constructor(
    private readonly stage: Stage,
    private readonly conduit: Conduit,
  ) {}

  data(chunk: Buffer): void {
    const stage = this.stage;
    const next = stage.next;
    const length = chunk.length;
    stage.stats.bytesIn += length;
    stage.stats.datagramsIn++;
    stage.ownerStats.bytesIn += length;
    stage.ownerStats.datagramsIn++;
    stage.endpointStats.bytesIn += length;
    stage.endpointStats.datagramsIn++;
    next.stats.bytesOut += length;
    next.stats.datagramsOut++;
    next.ownerStats.bytesOut += length;
    next.ownerStats.datagramsOut++;
    next.endpointStats.bytesOut += length;
    next.endpointStats.datagramsOut++;
    if (!next.conduit.write(chunk)) {
      if (next.conduit === DETACHED && (next.status === 'DISCONNECTED' || next.status === 'RETRYING'))
        next.hold(chunk);
      this.conduit.pause();
    }
  }

  end(): void {
    const next = this.stage.next;
    if (next.conduit === DETACHED) return;
    next.endSent = true;
    next.conduit.end();
  }

  close(error?: Error): void {
    if (this.stage.conduit !== this.conduit) return;
    this.stage.owner.stageClosed(this.stage, error);
  }

  drain(): void {
    this.stage.prev.conduit.resume();
  }

  head(head: ResponseHead): void {
    if (this.stage.conduit === this.conduit) this.stage.owner.forwardHead(this.stage, head);
  }
}
