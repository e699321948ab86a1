import type { Server } from 'node:net';
import { L7mpError } from '../errors';

/** A listening socket could not be bound (address in use, not available, no permission...). */
export class ListenError extends L7mpError {
  constructor(what: string, address: string, port: number, cause: Error) {
    super(`${what}: could not listen on ${address}:${port}: ${cause.message}`, { status: 500, cause });
  }
}

/**
 * Binds a server (HTTP, WebSocket, TCP) to `port` on `host` (every interface when absent) and
 * resolves once it listens; on failure the server is closed and a ListenError names `what`.
 */
export function listenOn(
  server: Server,
  what: string,
  port: number,
  host: string | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      server.close();
      reject(new ListenError(what, host ?? '*', port, error));
    };
    server.once('error', onError);
    server.listen({ port, ...(host !== undefined ? { host } : {}) }, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}
