import type { ClusterSpec, ListenerSpec } from '@l7mp/config';
import { ConnectError, ConnectTimeoutError, L7mpError } from '../errors';
import { BaseConduit } from '../transport/base-conduit';
import type {
  ClusterContext,
  ClusterTransport,
  Conduit,
  ConnectRequest,
  ListenerContext,
  ListenerTransport,
  StreamKind,
  TransportPlugin,
} from '../transport/types';

/**
 * One end of an in-memory, message-preserving pipe. Both ends report `close` once both
 * directions ended, or as soon as one end is destroyed.
 */
export class LoopbackConduit extends BaseConduit {
  private peer: LoopbackConduit | undefined;
  private sentEnd = false;
  private gotEnd = false;

  constructor(readonly kind: StreamKind = 'datagram') {
    super();
  }

  static pair(kind: StreamKind = 'datagram'): [LoopbackConduit, LoopbackConduit] {
    const a = new LoopbackConduit(kind);
    const b = new LoopbackConduit(kind);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  protected send(chunk: Buffer): boolean {
    // A copy, like a socket: the receiver must not see later changes to the sender's buffer.
    this.peer?.deliverData(Buffer.from(chunk));
    return true;
  }

  protected sendEnd(): void {
    this.sentEnd = true;
    const peer = this.peer;
    if (peer === undefined) return;
    peer.gotEnd = true;
    peer.deliverEnd();
    if (peer.sentEnd) {
      this.peer = undefined;
      peer.peer = undefined;
      peer.deliverClose();
      this.deliverClose();
    }
  }

  protected release(): void {
    const peer = this.peer;
    this.peer = undefined;
    if (peer === undefined) return;
    peer.peer = undefined;
    peer.deliverClose();
  }

  /** Whether the peer half-closed (for tests of this class itself). */
  get peerEnded(): boolean {
    return this.gotEnd;
  }
}

/** A listener spec of the loopback transport: `{protocol, channel}`. */
export type LoopbackListenerSpec = ListenerSpec & { channel?: string };

/** Channels whose name starts with this never answer: a connect waits for its timeout. */
export const BLACKHOLE_PREFIX = 'blackhole';

/**
 * An in-memory transport for tests of the proxy and of the compliance suite itself: listeners
 * bind a channel name (reported as `{path: channel}`), clusters connect to an endpoint whose
 * `address` is that channel. Each plugin instance has its own channels. `kind` only labels the
 * conduits (messages are always delivered whole).
 */
export function createLoopbackPlugin(
  options: { protocol?: 'Test'; kind?: StreamKind } = {},
): TransportPlugin {
  const protocol = options.protocol ?? 'Test';
  const kind = options.kind ?? 'datagram';
  const bound = new Map<string, ListenerContext>();
  let nextChannel = 0;
  let nextSession = 0;

  const createListener = (context: ListenerContext): ListenerTransport => {
    const requested = (context.spec as LoopbackListenerSpec).channel;
    const channel =
      typeof requested === 'string' && requested !== '' ? requested : `loopback-${nextChannel++}`;
    let started = false;
    return {
      kind,
      start(): Promise<void> {
        if (bound.has(channel)) {
          return Promise.reject(
            new L7mpError(`Listener "${context.name}": channel "${channel}" is already bound`),
          );
        }
        bound.set(channel, context);
        started = true;
        return Promise.resolve();
      },
      close(): Promise<void> {
        if (started && bound.get(channel) === context) bound.delete(channel);
        started = false;
        return Promise.resolve();
      },
      address: () => (started ? { path: channel } : undefined),
    };
  };

  const createCluster = (context: ClusterContext): ClusterTransport => ({
    kind,
    virtual: false,
    retriable: true,
    connect(request: ConnectRequest): Promise<Conduit> {
      if (request.signal.aborted) {
        return Promise.reject(new ConnectError(`Cluster "${context.name}": connect was aborted`));
      }
      const channel = request.endpoint?.spec.address;
      if (typeof channel === 'string' && channel.startsWith(BLACKHOLE_PREFIX))
        return blackhole(context, request);
      const listener = typeof channel === 'string' ? bound.get(channel) : undefined;
      if (listener === undefined) {
        return Promise.reject(
          new ConnectError(`Cluster "${context.name}": nothing listens on channel "${String(channel)}"`),
        );
      }
      const [client, server] = LoopbackConduit.pair(kind);
      const name = `Loopback:${String(channel)}-${nextSession++}`;
      listener.accept({ conduit: server, metadata: { name, Loopback: { channel } }, name }).then(
        (result) => {
          if (!result.ok) server.destroy(new ConnectError(result.message, { status: result.status }));
        },
        (error: unknown) => server.destroy(error instanceof Error ? error : new Error(String(error))),
      );
      return Promise.resolve(client);
    },
  });

  return {
    name: 'loopback',
    listeners: [{ protocol, create: createListener }],
    clusters: [{ protocol, create: createCluster }],
  };
}

/** A connect that never succeeds: it fails at `timeoutMs`, or earlier when aborted. */
function blackhole(context: ClusterContext, request: ConnectRequest): Promise<Conduit> {
  return new Promise<Conduit>((_, reject) => {
    const what = `Cluster "${context.name}", session "${request.sessionName}"`;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ConnectError(`${what}: connect was aborted`));
    };
    const timer = setTimeout(() => {
      request.signal.removeEventListener('abort', onAbort);
      reject(new ConnectTimeoutError(what, request.timeoutMs));
    }, request.timeoutMs);
    request.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The cluster spec and endpoint that reach a loopback listener bound at `channel`. */
export function loopbackTarget(channel: string): {
  spec: ClusterSpec;
  endpoint: { name: string; spec: { address: string }; weight: number };
} {
  return {
    spec: { protocol: 'Test' },
    endpoint: { name: `loopback-endpoint-${channel}`, spec: { address: channel }, weight: 1 },
  };
}
