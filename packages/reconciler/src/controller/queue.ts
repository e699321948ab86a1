import { backoffDelay, type BackoffOptions } from '../sync/backoff';

export interface WorkQueueOptions {
  /** Keys processed at the same time (default 16). */
  readonly concurrency?: number;
  readonly backoff?: BackoffOptions;
  /** Called with the number of keys waiting or retrying after every change. */
  readonly onDepth?: (depth: number) => void;
}

/** What the processor of a key reports: `retry` puts the key back after a growing backoff. */
export type ProcessOutcome = 'done' | 'retry';

/**
 * A work queue keyed by string: a key waiting is not added twice, a key is never processed twice
 * at the same time (added while processing: processed again afterwards), failures retry with
 * exponential backoff, and a success resets the backoff.
 */
export class WorkQueue {
  private readonly waiting = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly process: (key: string) => Promise<ProcessOutcome>,
    private readonly options: WorkQueueOptions = {},
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    const timer = this.retryTimers.get(key);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.retryTimers.delete(key);
    }
    if (this.active.has(key)) this.dirty.add(key);
    else this.waiting.add(key);
    this.report();
    this.pump();
  }

  /** Keys waiting, processing or waiting to retry. */
  depth(): number {
    return this.waiting.size + this.active.size + this.retryTimers.size;
  }

  /** Keys waiting or processing (not those waiting to retry after a failure). */
  pending(): number {
    return this.waiting.size + this.active.size;
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Forgets a key's backoff and pending retry. */
  forget(key: string): void {
    this.failures.delete(key);
    const timer = this.retryTimers.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.retryTimers.delete(key);
    this.waiting.delete(key);
    this.report();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    this.waiting.clear();
    this.dirty.clear();
  }

  private report(): void {
    this.options.onDepth?.(this.depth());
    if (this.waiting.size === 0 && this.active.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 16;
    while (!this.stopped && this.active.size < limit && this.waiting.size > 0) {
      const key = this.waiting.values().next().value as string;
      this.waiting.delete(key);
      this.active.add(key);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    let outcome: ProcessOutcome;
    try {
      outcome = await this.process(key);
    } catch {
      outcome = 'retry';
    }
    this.active.delete(key);
    if (this.stopped) return;
    if (outcome === 'done') {
      this.failures.delete(key);
    } else {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      if (!this.dirty.has(key)) {
        const timer = setTimeout(
          () => {
            this.retryTimers.delete(key);
            this.add(key);
          },
          backoffDelay(failures, this.options.backoff),
        );
        this.retryTimers.set(key, timer);
      }
    }
    if (this.dirty.delete(key)) this.waiting.add(key);
    this.report();
    this.pump();
  }
}
