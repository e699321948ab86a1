import { connect as netConnect } from 'node:net';
import type { ClusterSpecOf } from '@l7mp/config';
import {
  type ClusterContext,
  type ClusterTransport,
  type Conduit,
  ConnectError,
  type ConnectRequest,
  createFramer,
  type Framer,
  NetSocketConduit,
  type StreamKind,
} from '@l7mp/core';
import { connectWithDeadline } from './deadline';
import { openDgramClient } from './dgram';
import { connectSeqpacket } from './seqpacket';
import { probeSocketFile } from './socket-file';

type UdsClusterSpec = ClusterSpecOf<'UnixDomainSocket'>;
type UdsMode = NonNullable<UdsClusterSpec['mode']>;

/**
 * Connects to the socket path of the endpoint (`spec.address`, or the cluster's `filename`),
 * in the cluster's mode: stream (optionally framed), seqpacket, or dgram (which binds a private
 * client path next to the server's so that replies can come back; it is removed on close).
 */
export class UdsCluster implements ClusterTransport {
  readonly kind: StreamKind;
  readonly virtual = false;
  readonly retriable = true;
  private readonly spec: UdsClusterSpec;
  private readonly mode: UdsMode;
  private readonly framer: Framer | undefined;
  private readonly label: string;

  constructor(private readonly context: ClusterContext) {
    if (context.spec.protocol !== 'UnixDomainSocket') {
      throw new TypeError(
        `UnixDomainSocket cluster "${context.name}" was given a ${context.spec.protocol} spec`,
      );
    }
    this.spec = context.spec;
    this.mode = this.spec.mode ?? 'stream';
    this.framer = this.mode === 'stream' ? createFramer(this.spec.framing) : undefined;
    this.kind = this.mode === 'stream' && this.framer === undefined ? 'byte-stream' : 'datagram';
    this.label = `UnixDomainSocket cluster "${context.name}"`;
  }

  connect(request: ConnectRequest): Promise<Conduit> {
    const endpoint = request.endpoint;
    const address = endpoint?.spec.address;
    const path = typeof address === 'string' && address !== '' ? address : this.spec.filename;
    if (path === undefined) {
      const which = endpoint === undefined ? 'no endpoint' : `endpoint "${endpoint.name}"`;
      return Promise.reject(
        new ConnectError(`${this.label}: ${which} has no socket path and the cluster no filename`),
      );
    }
    const what = `${this.label}: ${endpoint === undefined ? '' : `endpoint "${endpoint.name}" `}(${path})`;
    switch (this.mode) {
      case 'seqpacket':
        return connectWithDeadline(what, request, (succeed, fail) => connectSeqpacket(path, succeed, fail));
      case 'dgram':
        return connectWithDeadline(what, request, (succeed, fail) => this.connectDgram(path, succeed, fail));
      default:
        return connectWithDeadline(what, request, (succeed, fail) => this.connectStream(path, succeed, fail));
    }
  }

  private connectStream(path: string, succeed: (c: Conduit) => void, fail: (e: Error) => void): () => void {
    const socket = netConnect({ path, allowHalfOpen: true });
    const onError = (error: Error) => fail(error);
    socket.on('error', onError);
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      succeed(new NetSocketConduit(socket, { framer: this.framer }));
    });
    return () => socket.destroy();
  }

  /**
   * There is no handshake on SOCK_DGRAM, so a stream probe checks first that a datagram socket
   * is bound at the path; otherwise every message would vanish with no error to report.
   */
  private connectDgram(path: string, succeed: (c: Conduit) => void, fail: (e: Error) => void): () => void {
    let abandoned = false;
    probeSocketFile(path).then(
      (state) => {
        if (abandoned) return;
        if (state === 'missing') fail(new Error('no socket file at this path'));
        else if (state === 'stale') fail(new Error('no socket is bound to this path (stale socket file)'));
        else if (state === 'accepting')
          fail(new Error('a stream socket listens on this path, not a dgram one'));
        else {
          try {
            succeed(openDgramClient(path));
          } catch (error) {
            fail(error as Error);
          }
        }
      },
      (error: unknown) => fail(error as Error),
    );
    return () => {
      abandoned = true;
    };
  }
}
