import type { Conduit } from '../transport/types';

/** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Waits for a transport's connect, giving up when `signal` aborts (session end) or, if given,
 * after `timeoutMs` (rejecting with `timeoutError()`), even if the transport ignores both. A
 * conduit that arrives after giving up is destroyed so no socket leaks.
 */
export function connectOrAbort(
  open: () => Promise<Conduit>,
  signal: AbortSignal,
  timeoutMs?: number,
  timeoutError?: () => Error,
): Promise<Conduit> {
  return new Promise<Conduit>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = (reason: unknown): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      reject(reason);
    };
    const onAbort = (): void => giveUp(signal.reason);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () => giveUp(timeoutError?.() ?? new Error(`connect timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    }
    let pending: Promise<Conduit>;
    try {
      pending = open();
    } catch (error) {
      pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    pending.then(
      (conduit) => {
        if (settled) {
          conduit.destroy();
          return;
        }
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(conduit);
      },
      (error: unknown) => giveUp(error instanceof Error ? error : new Error(String(error))),
    );
  });
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
