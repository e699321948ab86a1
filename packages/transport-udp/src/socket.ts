import { createSocket, type Socket, type SocketOptions, type SocketType } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import { toError } from './errors';

/** The resolver signature dgram sockets accept (default `dns.lookup`). */
export type DgramLookup = NonNullable<SocketOptions['lookup']>;

/** `udp6` for an IPv6 literal, `udp4` for anything else (IPv4 literals and host names). */
export function socketTypeFor(address: string | undefined): SocketType {
  return address !== undefined && isIPv6(address) ? 'udp6' : 'udp4';
}

export function wildcardAddress(type: SocketType): string {
  return type === 'udp6' ? '::' : '0.0.0.0';
}

/** The last literal `literalFirstLookup` saw: replies to one peer repeat the same address. */
let lastLiteral = '';
let lastFamily = 0;

/**
 * Answers IP literals synchronously and hands host names to `dns.lookup`. An unconnected socket
 * "resolves" the destination of every `send(msg, port, address)`; `dns.lookup` does that for a
 * literal with a `process.nextTick` per datagram, which this skips on the server-mode hot path,
 * and the one-entry memo spares the `isIP` regular expression while the address repeats.
 * Safe only where 'listening' and 'error' listeners are attached before `bind()` is called (as
 * `bindSocket` does), because a literal bind address now completes synchronously.
 */
export const literalFirstLookup: DgramLookup = (hostname, options, callback) => {
  if (hostname === lastLiteral) {
    callback(null, hostname, lastFamily);
    return;
  }
  const family = isIP(hostname);
  if (family === 0) {
    dnsLookup(hostname, options, callback);
    return;
  }
  lastLiteral = hostname;
  lastFamily = family;
  callback(null, hostname, family);
};

export interface OpenSocketOptions {
  type: SocketType;
  /**
   * SO_REUSEADDR, as the anchor sets on its listeners: a re-added listener can bind the port that
   * a deleted one still holds while its sessions drain, and a singleton can re-bind its port.
   * Never on a socket bound to an ephemeral port in numbers (cluster sockets): the kernel then
   * hands out ports that other SO_REUSEADDR sockets hold, and two sessions connected to the same
   * endpoint from one shared port get each other's replies.
   */
  reuseAddr: boolean;
  /** A custom resolver for host names (bind, connect); defaults to `dns.lookup`. */
  lookup?: DgramLookup | undefined;
}

export function openSocket(options: OpenSocketOptions): Socket {
  return createSocket({
    type: options.type,
    reuseAddr: options.reuseAddr,
    ...(options.lookup !== undefined ? { lookup: options.lookup } : {}),
  });
}

/** Closes a socket that may already be closed, without throwing. */
export function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // ERR_SOCKET_DGRAM_NOT_RUNNING: already closed, which is what we wanted.
  }
}

/**
 * Runs `start` (a bind or connect) and resolves once `event` fires, rejecting on the first `error`
 * or on a synchronous throw (e.g. a bad port); the listeners are removed either way.
 */
function whenSocket(socket: Socket, event: 'listening' | 'connect', start: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onEvent = (): void => {
      socket.removeListener('error', onError);
      resolve();
    };
    const onError = (error: Error): void => {
      socket.removeListener(event, onEvent);
      reject(error);
    };
    socket.once(event, onEvent);
    socket.once('error', onError);
    try {
      start();
    } catch (error) {
      onError(toError(error));
    }
  });
}

/** Binds `socket`, resolving when it listens. */
export function bindSocket(socket: Socket, port: number, address: string): Promise<void> {
  return whenSocket(socket, 'listening', () => socket.bind({ port, address, exclusive: true }));
}

/** Connects a socket (binding it to an ephemeral port first if it is unbound). */
export function connectSocket(socket: Socket, port: number, address: string): Promise<void> {
  return whenSocket(socket, 'connect', () => socket.connect(port, address));
}
