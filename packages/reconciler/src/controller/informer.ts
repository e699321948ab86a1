import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import type { Logger } from '../logger';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** Watch path, e.g. `/api/v1/namespaces/default/pods`. */
  readonly path: string;
  readonly list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /** Called for every add/update/delete (and after a relist). */
  readonly onChange: (type: 'add' | 'update' | 'delete', object: T) => void;
  readonly restartDelayMs: number;
  readonly logger: Logger;
  readonly onError?: (error: Error) => void;
}

const asError = (e: unknown): Error =>
  e instanceof Error ? e : new Error(typeof e === 'string' ? e : JSON.stringify(e));

/**
 * A client-node informer that is restarted after any error: client-node relists by itself after
 * 410 Expired, but stops for good on other errors (a dropped connection, an unreachable server).
 */
export class ResilientInformer<T extends KubernetesObject> {
  private informer: (Informer<T> & ObjectCache<T>) | undefined;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;
  private hasSynced = false;

  constructor(private readonly options: ResilientInformerOptions<T>) {}

  /** Whether the first list has completed. */
  get synced(): boolean {
    return this.hasSynced;
  }

  list(): readonly T[] {
    return this.informer?.list() ?? [];
  }

  async start(): Promise<void> {
    this.stopped = false;
    const informer = makeInformer<T>(this.options.kubeConfig, this.options.path, async () => {
      const result = await this.options.list();
      return result as never;
    });
    this.informer = informer;
    informer.on('add', (o) => this.options.onChange('add', o));
    informer.on('update', (o) => this.options.onChange('update', o));
    informer.on('delete', (o) => this.options.onChange('delete', o));
    informer.on('error', (error: unknown) => {
      // stop() makes client-node report an AbortError: not a failure when we asked for it.
      if (this.stopped) return;
      const err = asError(error);
      this.options.logger.warn({ path: this.options.path, err: err.message }, 'informer failed; restarting');
      this.options.onError?.(err);
      this.scheduleRestart();
    });
    try {
      await informer.start();
      this.hasSynced = true;
    } catch (error) {
      if (this.stopped) return;
      this.options.logger.warn(
        { path: this.options.path, err: asError(error).message },
        'informer start failed; retrying',
      );
      this.options.onError?.(asError(error));
      this.scheduleRestart();
    }
  }

  private scheduleRestart(): void {
    if (this.stopped || this.restartTimer !== undefined) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      const informer = this.informer;
      if (informer === undefined) return;
      informer
        .start()
        .then(() => {
          this.hasSynced = true;
        })
        .catch((error: unknown) => {
          if (this.stopped) return;
          this.options.onError?.(asError(error));
          this.scheduleRestart();
        });
    }, this.options.restartDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    try {
      await this.informer?.stop();
    } catch {
      // Stopping a watch that already failed is fine.
    }
  }
}
