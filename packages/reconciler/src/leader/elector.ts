import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../logger';

export interface LeaderElectionOptions {
  /** Namespace of the coordination.k8s.io/v1 Lease. */
  readonly namespace: string;
  readonly leaseName: string;
  /** Unique per replica, e.g. the pod name. */
  readonly identity: string;
  /** How long a lease holds without renewal (default 15000). */
  readonly leaseDurationMs?: number;
  /** How often the holder renews and others retry (default 5000). */
  readonly renewPeriodMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

const statusOf = (e: unknown): number | undefined => {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
};

const timeOf = (value: unknown): number => {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') return Date.parse(value);
  return Number.NaN;
};

/**
 * Leader election over a Lease, like client-go's: the holder renews the lease every renew period;
 * another replica takes it over only after it has not been renewed for the lease duration.
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private stopped = true;
  private lastRenew = 0;
  private readonly durationMs: number;
  private readonly periodMs: number;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: LeaderElectionOptions,
    private readonly callbacks: LeaderCallbacks,
    private readonly logger: Logger = silentLogger,
  ) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
    this.durationMs = options.leaseDurationMs ?? 15_000;
    this.periodMs = options.renewPeriodMs ?? 5_000;
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stops campaigning; a leader releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.leading) {
      this.setLeading(false);
      try {
        const lease = await this.api.readNamespacedLease({
          name: this.options.leaseName,
          namespace: this.options.namespace,
        });
        if (lease.spec?.holderIdentity === this.options.identity) {
          lease.spec.holderIdentity = undefined;
          lease.spec.renewTime = undefined;
          await this.api.replaceNamespacedLease({
            name: this.options.leaseName,
            namespace: this.options.namespace,
            body: lease,
          });
        }
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'could not release the leader lease');
      }
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.logger.info(
      { identity: this.options.identity, leading },
      leading ? 'became leader' : 'lost leadership',
    );
    if (leading) this.callbacks.onStartedLeading();
    else this.callbacks.onStoppedLeading();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const acquired = await this.tryAcquireOrRenew();
      if (acquired) this.lastRenew = Date.now();
      if (acquired) this.setLeading(true);
      else if (this.leading) this.setLeading(false);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'leader election: lease update failed');
      // A leader that cannot renew must step down before another replica may take over.
      if (this.leading && Date.now() - this.lastRenew > this.durationMs - this.periodMs)
        this.setLeading(false);
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.periodMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, leaseName: name, identity } = this.options;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (createError) {
        if (statusOf(createError) === 409) return false;
        throw createError;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewed = timeOf(spec.renewTime);
    const duration = (spec.leaseDurationSeconds ?? Math.ceil(this.durationMs / 1000)) * 1000;
    const expired = !Number.isFinite(renewed) || renewed + duration < now.getTime();
    if (holder !== undefined && holder !== '' && holder !== identity && !expired) return false;
    const takeover = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
      renewTime: now,
      ...(takeover ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (error) {
      if (statusOf(error) === 409) return false;
      throw error;
    }
  }
}
