import type { ClusterSpec, ClusterSpecOf } from '@l7mp/config';
import {
  ConnectError,
  ConnectTimeoutError,
  L7mpError,
  type ClusterContext,
  type ClusterTransport,
  type Conduit,
  type ConnectRequest,
  type Logger,
  type StreamKind,
} from '@l7mp/core';
import { JSONSocketConduit } from './conduit';
import { buildRequestHeader, checkResponseHeader } from './header';

type JSONSocketClusterSpec = ClusterSpecOf<'JSONSocket'>;

/**
 * Connects through an inner cluster (same endpoint), sends the request header built from
 * `spec.header` and accepts the connection only on a valid 2xx response header.
 */
export class JSONSocketCluster implements ClusterTransport {
  readonly kind: StreamKind;
  readonly virtual = false;
  readonly retriable: boolean;
  private readonly spec: JSONSocketClusterSpec;
  private readonly label: string;
  private readonly logger: Logger;
  private readonly inner: ClusterTransport;

  constructor(context: ClusterContext) {
    if (context.spec.protocol !== 'JSONSocket') {
      throw new L7mpError(
        `JSONSocket cluster "${context.name}": spec has protocol ${context.spec.protocol}`,
        {
          status: 400,
        },
      );
    }
    this.spec = context.spec;
    this.label = `JSONSocket cluster "${context.name}"`;
    this.logger = context.logger;
    const transportSpec: ClusterSpec = this.spec.transport;
    this.inner = context.transports.createCluster({
      name: `${context.name}-transport-cluster`,
      spec: transportSpec,
      logger: context.logger,
      transports: context.transports,
      metrics: context.metrics,
    });
    if (this.inner.kind !== 'datagram') {
      throw new L7mpError(
        `${this.label}: the ${transportSpec.protocol} transport is a byte stream, but the JSONSocket header ` +
          'needs message boundaries; use UDP, WebSocket, a seqpacket/dgram Unix socket or a framed stream',
        { status: 400 },
      );
    }
    this.kind = this.inner.kind;
    this.retriable = this.inner.retriable;
  }

  async connect(request: ConnectRequest): Promise<Conduit> {
    const startedAt = Date.now();
    const target =
      request.endpoint !== undefined ? `${this.label}: endpoint "${request.endpoint.name}"` : this.label;
    let header: Buffer;
    try {
      const built = buildRequestHeader(this.spec.header ?? [], request.metadata, (path) =>
        this.logger.warn(
          `${target}: session ${request.sessionName} has no metadata at ${path} for the header`,
        ),
      );
      header = Buffer.from(JSON.stringify(built));
    } catch (error) {
      throw new ConnectError(`${target}: ${(error as Error).message}`, { cause: error });
    }
    const inner = await this.inner.connect(request);
    const remainingMs = Math.max(1, request.timeoutMs - (Date.now() - startedAt));
    return this.handshake(
      new JSONSocketConduit(inner, { holdWrites: false }),
      header,
      target,
      request,
      remainingMs,
    );
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private handshake(
    conduit: JSONSocketConduit,
    header: Buffer,
    target: string,
    request: ConnectRequest,
    remainingMs: number,
  ): Promise<Conduit> {
    return new Promise<Conduit>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.signal.removeEventListener('abort', onAbort);
        if (error === undefined) {
          resolve(conduit);
          return;
        }
        conduit.destroy(error);
        reject(error);
      };
      const onAbort = (): void =>
        finish(new ConnectError(`${target}: connect aborted during the JSONSocket handshake`));
      const timer = setTimeout(
        () => finish(new ConnectTimeoutError(`${target}: no JSONSocket response header`, request.timeoutMs)),
        remainingMs,
      );
      if (request.signal.aborted) {
        onAbort();
        return;
      }
      request.signal.addEventListener('abort', onAbort);
      conduit.expectHeader({
        header: (message) => {
          const failure = checkResponseHeader(message);
          finish(
            failure === undefined
              ? undefined
              : new ConnectError(`${target}: ${failure.problem}`, { status: failure.status }),
          );
        },
        closed: (error) =>
          finish(
            new ConnectError(`${target}: the connection closed before the JSONSocket response header`, {
              ...(error !== undefined ? { cause: error } : {}),
            }),
          ),
      });
      conduit.sendHandshake(header);
    });
  }
}
