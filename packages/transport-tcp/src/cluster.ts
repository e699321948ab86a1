import { connect as netConnect, type Socket } from 'node:net';
import type { ClusterSpecOf } from '@l7mp/config';
import {
  type ClusterContext,
  type ClusterTransport,
  type Conduit,
  ConnectError,
  type ConnectRequest,
  ConnectTimeoutError,
  createFramer,
  type Framer,
  NetSocketConduit,
  type StreamKind,
} from '@l7mp/core';

type TcpClusterSpec = ClusterSpecOf<'TCP'>;

/**
 * Opens a TCP connection per session to the endpoint's `address` and port (the endpoint's own
 * `port` or else the cluster's), optionally from `spec.bind`.
 */
export class TcpCluster implements ClusterTransport {
  readonly kind: StreamKind;
  readonly virtual = false;
  readonly retriable = true;
  private readonly spec: TcpClusterSpec;
  private readonly framer: Framer | undefined;

  constructor(private readonly context: ClusterContext) {
    if (context.spec.protocol !== 'TCP') {
      throw new TypeError(`TCP cluster "${context.name}" was given a ${context.spec.protocol} spec`);
    }
    this.spec = context.spec;
    this.framer = createFramer(this.spec.framing);
    this.kind = this.framer === undefined ? 'byte-stream' : 'datagram';
  }

  connect(request: ConnectRequest): Promise<Conduit> {
    const endpoint = request.endpoint;
    const cluster = `TCP cluster "${this.context.name}"`;
    if (endpoint === undefined) {
      return Promise.reject(new ConnectError(`${cluster}: no endpoint to connect to`));
    }
    const host = endpoint.spec.address;
    const port = typeof endpoint.spec.port === 'number' ? endpoint.spec.port : this.spec.port;
    if (typeof host !== 'string' || host === '') {
      return Promise.reject(new ConnectError(`${cluster}: endpoint "${endpoint.name}" has no address`));
    }
    const what = `${cluster}: endpoint "${endpoint.name}" (${host}:${port})`;
    if (request.signal.aborted) {
      return Promise.reject(new ConnectError(`${what}: connect aborted`, { cause: request.signal.reason }));
    }
    const bind = this.spec.bind;
    let socket: Socket;
    try {
      socket = netConnect({
        host,
        port,
        localAddress: bind?.address,
        localPort: bind?.port,
        allowHalfOpen: true,
        noDelay: true,
      });
    } catch (error) {
      // net.connect throws synchronously on an invalid option (e.g. a malformed bind address).
      return Promise.reject(new ConnectError(`${what}: ${(error as Error).message}`, { cause: error }));
    }
    return new Promise<Conduit>((resolve, reject) => {
      const signal = request.signal;
      const timer =
        request.timeoutMs > 0
          ? setTimeout(() => fail(new ConnectTimeoutError(what, request.timeoutMs)), request.timeoutMs)
          : undefined;
      const onAbort = () => fail(new ConnectError(`${what}: connect aborted`, { cause: signal.reason }));
      const onError = (error: Error) => fail(new ConnectError(`${what}: ${error.message}`, { cause: error }));
      const cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.removeListener('error', onError);
      };
      const fail = (error: Error) => {
        cleanup();
        socket.destroy();
        reject(error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', onError);
      socket.once('connect', () => {
        cleanup();
        resolve(new NetSocketConduit(socket, { framer: this.framer }));
      });
    });
  }
}
