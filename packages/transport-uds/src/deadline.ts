import { type Conduit, ConnectError, type ConnectRequest, ConnectTimeoutError } from '@l7mp/core';

/**
 * Runs one connect attempt under the request's timeout and abort signal. `attempt` starts the
 * connection, calls `succeed`/`fail` once it knows, and returns a function that abandons it
 * (closing whatever socket it opened) when the deadline or the abort comes first.
 */
export function connectWithDeadline(
  what: string,
  request: ConnectRequest,
  attempt: (succeed: (conduit: Conduit) => void, fail: (error: Error) => void) => () => void,
): Promise<Conduit> {
  const signal = request.signal;
  if (signal.aborted) {
    return Promise.reject(new ConnectError(`${what}: connect aborted`, { cause: signal.reason }));
  }
  return new Promise<Conduit>((resolve, reject) => {
    let settled = false;
    // Filled in once the attempt has started; a deadline cannot fire before that.
    const running: { abandon?: () => void } = {};
    const settle = () => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const giveUp = (error: Error) => {
      if (settled) return;
      settle();
      running.abandon?.();
      reject(error);
    };
    const onAbort = () => giveUp(new ConnectError(`${what}: connect aborted`, { cause: signal.reason }));
    const timer =
      request.timeoutMs > 0
        ? setTimeout(() => giveUp(new ConnectTimeoutError(what, request.timeoutMs)), request.timeoutMs)
        : undefined;
    signal.addEventListener('abort', onAbort, { once: true });
    running.abandon = attempt(
      (conduit) => {
        if (settled) {
          conduit.destroy();
          return;
        }
        settle();
        resolve(conduit);
      },
      (error) => {
        if (settled) return;
        settle();
        reject(new ConnectError(`${what}: ${error.message}`, { cause: error }));
      },
    );
  });
}
