import type { ClusterSpecOf } from '@l7mp/config';
import {
  BadRequestError,
  ConnectError,
  ConnectTimeoutError,
  type ClusterContext,
  type ClusterTransport,
  type Conduit,
  type ConnectRequest,
} from '@l7mp/core';
import { ConnectedDatagramConduit } from './conduits';
import { messageOf } from './errors';
import {
  type DgramLookup,
  bindSocket,
  closeQuietly,
  connectSocket,
  openSocket,
  socketTypeFor,
  wildcardAddress,
} from './socket';

export type UdpClusterSpec = ClusterSpecOf<'UDP'>;

export interface UdpClusterOptions {
  /** Resolver for endpoint host names (default `dns.lookup`); lets embedders plug in their own. */
  lookup?: DgramLookup;
}

/**
 * The UDP cluster: every connect opens a new socket (optionally bound to `spec.bind`) connected
 * to the endpoint's address and port (`endpoint.spec.port`, else the cluster's `port`).
 */
export class UdpCluster implements ClusterTransport {
  readonly kind = 'datagram' as const;
  readonly virtual = false;
  readonly retriable = true;
  private readonly context: ClusterContext;
  private readonly spec: UdpClusterSpec;
  private readonly lookup: DgramLookup | undefined;

  constructor(context: ClusterContext, options: UdpClusterOptions = {}) {
    const spec = context.spec;
    if (spec.protocol !== 'UDP') {
      throw new BadRequestError(
        `UDP cluster "${context.name}": expected a UDP spec, got protocol "${spec.protocol}"`,
        {
          path: ['clusters', context.name, 'spec', 'protocol'],
        },
      );
    }
    this.context = context;
    this.spec = spec;
    this.lookup = options.lookup;
  }

  connect(request: ConnectRequest): Promise<Conduit> {
    const endpoint = request.endpoint;
    if (endpoint === undefined) {
      return Promise.reject(
        new ConnectError(`UDP cluster "${this.context.name}": no endpoint to connect to`),
      );
    }
    const address = endpoint.spec.address;
    const port = endpoint.spec.port ?? this.spec.port;
    if (typeof address !== 'string' || address === '') {
      return Promise.reject(
        new ConnectError(
          `UDP cluster "${this.context.name}": endpoint "${endpoint.name}": No remote addr:port pair defined (the endpoint has no address)`,
        ),
      );
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return Promise.reject(
        new ConnectError(
          `UDP cluster "${this.context.name}": endpoint "${endpoint.name}": No remote addr:port pair defined (bad port ${String(port)})`,
        ),
      );
    }
    const what = `UDP cluster "${this.context.name}": endpoint "${endpoint.name}" (${address}:${port})`;
    if (request.signal.aborted) {
      return Promise.reject(new ConnectError(`${what}: connect aborted`, { cause: request.signal.reason }));
    }
    return this.open(what, address, port, request);
  }

  private open(what: string, address: string, port: number, request: ConnectRequest): Promise<Conduit> {
    const bind = this.spec.bind;
    const type = socketTypeFor(bind?.address ?? address);
    const socket = openSocket({
      type,
      // A fixed local port may need re-binding while a previous session's socket closes.
      reuseAddr: bind?.port !== undefined && bind.port > 0,
      lookup: this.lookup,
    });
    const { signal, timeoutMs } = request;

    return new Promise<Conduit>((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      const fail = (error: ConnectError): void => {
        if (!finish()) return;
        closeQuietly(socket);
        reject(error);
      };
      const onAbort = (): void =>
        fail(new ConnectError(`${what}: connect aborted`, { cause: signal.reason }));
      const timer =
        timeoutMs > 0 && Number.isFinite(timeoutMs)
          ? setTimeout(() => fail(new ConnectTimeoutError(what, timeoutMs)), timeoutMs)
          : undefined;
      signal.addEventListener('abort', onAbort, { once: true });

      const steps = async (): Promise<void> => {
        if (bind !== undefined)
          await bindSocket(socket, bind.port ?? 0, bind.address ?? wildcardAddress(type));
        if (!settled) await connectSocket(socket, port, address);
      };
      steps().then(
        () => {
          if (finish()) resolve(new ConnectedDatagramConduit(socket));
        },
        (error: unknown) => {
          fail(new ConnectError(`${what}: ${messageOf(error)}`, { cause: error }));
        },
      );
    });
  }
}
