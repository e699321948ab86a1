import type { ClusterSpec, ListenerSpec } from '@l7mp/config';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger';

/**
 * How a conduit treats message boundaries. A `datagram` conduit delivers and sends whole
 * messages (UDP, WebSocket, SOCK_SEQPACKET, a framed byte stream); a `byte-stream` conduit may
 * split or merge writes (TCP, a plain Unix stream socket).
 */
export type StreamKind = 'datagram' | 'byte-stream';

/** Session metadata (anchor §1.8): IP, UDP, TCP, HTTP, UNIX, JSONSocket, plus rewrites. */
export type SessionMetadata = Record<string, unknown>;

/** An HTTP-style response head that travels from a destination back to the source. */
export interface ResponseHead {
  status: number;
  headers?: Record<string, string>;
}

/** Callbacks through which a conduit reports what happens to it. One consumer per conduit. */
export interface ConduitHandlers {
  /** One message (datagram conduits) or one chunk of bytes (byte-stream conduits). */
  data(chunk: Buffer): void;
  /** The peer will send nothing more (half-close). */
  end(): void;
  /** The conduit is closed for good; called exactly once, with the cause if it failed. */
  close(error?: Error): void;
  /** A write that returned false can be followed by more writes now. */
  drain(): void;
  /** An HTTP-style response head (only conduits that produce one call this). */
  head?(head: ResponseHead): void;
}

/**
 * A connected, bidirectional channel: the one shape every listener and cluster of every
 * protocol hands to the pipeline. Callback-based rather than a Node stream so the data path
 * costs one function call per message.
 *
 * Contract (checked by the compliance suite in `@l7mp/core/testing`):
 * - data that arrives before `setHandlers` is queued and delivered, in order, once set;
 * - `write` never throws; after `close` it is a no-op that returns false;
 * - `end` half-closes the sending side; `destroy` closes both sides and releases every resource;
 * - `close` is reported exactly once, whoever closed it.
 */
export interface Conduit {
  readonly kind: StreamKind;
  /** Sends one message (datagram) or chunk (byte stream). False means "pause until drain". */
  write(chunk: Buffer): boolean;
  /** Half-close: nothing more will be written. */
  end(): void;
  /** Closes both directions now and releases the socket. */
  destroy(error?: Error): void;
  /** Flow control: stop and restart delivering `data`. */
  pause(): void;
  resume(): void;
  setHandlers(handlers: ConduitHandlers): void;
  readonly closed: boolean;
  /** Only conduits that can answer with a status (HTTP listener) implement this. */
  writeHead?(head: ResponseHead): void;
}

/** What a listener learns about the fate of a connection it handed to the proxy. */
export interface AcceptResult {
  ok: boolean;
  status: number;
  message: string;
  content?: unknown;
}

/** A new connection (or UDP peer) that a listener hands to the proxy to be routed. */
export interface IncomingConnection {
  conduit: Conduit;
  metadata: SessionMetadata;
  /** Session name before de-duplication, e.g. `UDP:127.0.0.1:40000-0.0.0.0:9001-0`. */
  name: string;
  /** Report a routing or setup failure to the peer in the protocol's own way (HTTP 404, JSONSocket header). */
  reject?(error: AcceptResult): void;
  /** Called once the session is fully connected (JSONSocket sends its 200 header here). */
  established?(): void;
  /** Re-open the source after it failed (UDP singleton); makes the source stage retriable. */
  reconnect?(): Promise<Conduit>;
}

/** Lets a transport build other transports, e.g. JSONSocket over UDP. */
export interface TransportFactories {
  createListener(context: ListenerContext): ListenerTransport;
  createCluster(context: ClusterContext): ClusterTransport;
}

export interface ListenerContext {
  readonly name: string;
  readonly spec: ListenerSpec;
  readonly logger: Logger;
  readonly transports: TransportFactories;
  /** Hands a connection to the proxy; resolves when routing succeeded or failed. */
  accept(connection: IncomingConnection): Promise<AcceptResult>;
}

/** The listener side of a protocol. */
export interface ListenerTransport {
  readonly kind: StreamKind;
  /** Binds and starts accepting. Rejects (leaving nothing bound) if it cannot. */
  start(): Promise<void>;
  /** Stops accepting, closes the listening socket and removes socket files. Live sessions are not touched. */
  close(): Promise<void>;
  /** The bound address (useful when port 0 was asked for). */
  address?(): { address: string; port: number } | { path: string } | undefined;
}

/** The endpoint a cluster connects to, as chosen by the load balancer. */
export interface EndpointTarget {
  name: string;
  spec: { address?: string; port?: number; [key: string]: unknown };
  weight: number;
}

export interface ConnectRequest {
  endpoint: EndpointTarget | undefined;
  sessionName: string;
  metadata: SessionMetadata;
  /** Give up after this many milliseconds (the route's `retry.timeout`). */
  timeoutMs: number;
  signal: AbortSignal;
}

export interface ClusterContext {
  readonly name: string;
  readonly spec: ClusterSpec;
  readonly logger: Logger;
  readonly transports: TransportFactories;
  /** The proxy's Prometheus registry (Metric and Prometheus clusters use it). */
  readonly metrics: Registry;
}

/** The cluster side of a protocol, or a built-in transform. */
export interface ClusterTransport {
  readonly kind: StreamKind;
  /** Virtual clusters (transforms) run inside the proxy and have no endpoints. */
  readonly virtual: boolean;
  /** Whether a failed stage of this cluster may be reconnected (false for Stdio, L7mpController). */
  readonly retriable: boolean;
  /** Opens a conduit to the endpoint (or to the transform). Rejects with a descriptive error. */
  connect(request: ConnectRequest): Promise<Conduit>;
  /** Releases shared resources (e.g. a Sync cluster's groups). */
  close?(): Promise<void>;
}

export interface ListenerFactory {
  readonly protocol: string;
  create(context: ListenerContext): ListenerTransport;
}

export interface ClusterFactory {
  readonly protocol: string;
  create(context: ClusterContext): ClusterTransport;
}

/** What a transport package exports and registers into a proxy. */
export interface TransportPlugin {
  readonly name: string;
  readonly listeners?: readonly ListenerFactory[];
  readonly clusters?: readonly ClusterFactory[];
}
