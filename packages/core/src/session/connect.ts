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
 * Waits for a transport's connect, giving up when `signal` aborts (timeout or session end) even
 * if the transport ignores the signal. A conduit that arrives after giving up is destroyed so
 * no socket leaks.
 */
export function connectOrAbort(open: () => Promise<Conduit>, signal: AbortSignal): Promise<Conduit> {
  return new Promise<Conduit>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      reject(signal.reason);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<Conduit>;
    try {
      pending = open();
    } catch (error) {
      pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    pending.then(
      (conduit) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) {
          conduit.destroy();
          return;
        }
        settled = true;
        resolve(conduit);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) return;
        settled = true;
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
