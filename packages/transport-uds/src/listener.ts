import { createServer, type Server, type Socket } from 'node:net';
import type { ListenerSpecOf } from '@l7mp/config';
import {
  type AcceptResult,
  type Conduit,
  createFramer,
  type Framer,
  type ListenerContext,
  type ListenerTransport,
  NetSocketConduit,
  type StreamKind,
} from '@l7mp/core';
import { DgramSocket, type SeqpacketServer } from 'node-unix-socket';
import { DgramPeerConduit, type DgramPeerOwner } from './dgram';
import { UdsListenError } from './errors';
import { listenSeqpacket } from './seqpacket';
import { claimSocketPath, removeSocketFile } from './socket-file';

type UdsListenerSpec = ListenerSpecOf<'UnixDomainSocket'>;

/**
 * What every Unix domain socket listener shares: claiming the socket path (a stale file is
 * replaced, a live or non-socket one refused), removing it on close, and naming the sessions
 * `UNIX:<listener>-<id>` with metadata `{UNIX: {filename}}`.
 */
abstract class UdsListenerBase implements ListenerTransport {
  abstract readonly kind: StreamKind;
  protected readonly spec: UdsListenerSpec;
  protected readonly label: string;
  private nextId = 0;
  private bound = false;

  constructor(protected readonly context: ListenerContext) {
    if (context.spec.protocol !== 'UnixDomainSocket') {
      throw new TypeError(
        `UnixDomainSocket listener "${context.name}" was given a ${context.spec.protocol} spec`,
      );
    }
    this.spec = context.spec;
    this.label = `UnixDomainSocket listener "${context.name}"`;
  }

  get path(): string {
    return this.spec.filename;
  }

  async start(): Promise<void> {
    if (this.bound) return;
    await claimSocketPath(this.path, this.label);
    try {
      await this.bind();
    } catch (error) {
      throw new UdsListenError(
        `${this.label}: cannot listen on ${this.path}: ${(error as Error).message}`,
        error,
      );
    }
    this.bound = true;
  }

  async close(): Promise<void> {
    if (!this.bound) return;
    this.bound = false;
    this.unbind();
    await removeSocketFile(this.path);
  }

  address(): { path: string } | undefined {
    return this.bound ? { path: this.path } : undefined;
  }

  protected abstract bind(): Promise<void>;
  protected abstract unbind(): void;

  /** Hands a new connection (or dgram peer) to the proxy; closes it if routing fails. */
  protected offer(conduit: Conduit): void {
    const id = this.nextId++;
    this.context
      .accept({
        conduit,
        name: `UNIX:${this.context.name}-${id}`,
        metadata: { UNIX: { filename: this.path } },
      })
      .then(
        (result: AcceptResult) => {
          if (!result.ok) conduit.destroy();
        },
        (error: unknown) => {
          this.context.logger.error({ err: error, listener: this.context.name }, 'session setup failed');
          conduit.destroy();
        },
      );
  }

  protected logError(error: Error): void {
    this.context.logger.error({ err: error, listener: this.context.name }, `${this.label}: socket error`);
  }
}

/** SOCK_STREAM: a net server on the path; optionally framed, like a TCP listener. */
export class StreamUdsListener extends UdsListenerBase {
  readonly kind: StreamKind;
  private readonly framer: Framer | undefined;
  private server: Server | undefined;

  constructor(context: ListenerContext) {
    super(context);
    this.framer = createFramer(this.spec.framing);
    this.kind = this.framer === undefined ? 'byte-stream' : 'datagram';
  }

  protected bind(): Promise<void> {
    const server = createServer({ allowHalfOpen: true });
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        server.close();
        reject(error);
      };
      server.once('error', onError);
      server.listen({ path: this.path }, () => {
        server.removeListener('error', onError);
        server.on('error', (error) => this.logError(error));
        server.on('connection', (socket: Socket) =>
          this.offer(new NetSocketConduit(socket, { framer: this.framer })),
        );
        this.server = server;
        resolve();
      });
    });
  }

  protected unbind(): void {
    // Stops accepting at once; live connections are left alone (the callback would wait for them).
    this.server?.close();
    this.server = undefined;
  }
}

/** SOCK_SEQPACKET: connection-oriented, message boundaries kept by the kernel. */
export class SeqpacketUdsListener extends UdsListenerBase {
  readonly kind = 'datagram' as const;
  private server: SeqpacketServer | undefined;

  protected bind(): Promise<void> {
    this.server = listenSeqpacket(
      this.path,
      (conduit) => this.offer(conduit),
      (error) => this.logError(error),
    );
    return Promise.resolve();
  }

  protected unbind(): void {
    this.server?.close();
    this.server = undefined;
  }
}

/**
 * SOCK_DGRAM: connectionless. The listener binds the path and keeps one session per peer
 * socket path; a peer must bind a path of its own or there is nowhere to send replies (its
 * datagrams are dropped). After `close()` the file is removed and no new peers are accepted, but
 * the socket stays open for the live sessions' replies until the last of them ends.
 */
export class DgramUdsListener extends UdsListenerBase implements DgramPeerOwner {
  readonly kind = 'datagram' as const;
  private readonly peers = new Map<string, DgramPeerConduit>();
  private dgramSocket: DgramSocket | undefined;
  private closing = false;
  private blockedReported = false;
  private sendsInFlight = 0;
  private closeWanted = false;

  get socket(): DgramSocket {
    if (this.dgramSocket === undefined) throw new Error(`${this.label} is not bound`);
    return this.dgramSocket;
  }

  protected bind(): Promise<void> {
    const socket = new DgramSocket();
    socket.on('error', (error: Error) => this.logError(error));
    try {
      socket.bind(this.path);
    } catch (error) {
      socket.close();
      return Promise.reject(error as Error);
    }
    socket.on('data', (message: Buffer, peerPath: string) => this.onDatagram(message, peerPath));
    this.dgramSocket = socket;
    this.closing = false;
    return Promise.resolve();
  }

  protected unbind(): void {
    this.closing = true;
    if (this.peers.size === 0) this.closeSocket();
  }

  forget(peerPath: string, conduit: DgramPeerConduit): void {
    if (this.peers.get(peerPath) === conduit) this.peers.delete(peerPath);
    if (this.closing && this.peers.size === 0) this.closeSocket();
  }

  sendStarted(): void {
    this.sendsInFlight++;
  }

  sendFinished(): void {
    this.sendsInFlight--;
    if (this.closeWanted && this.sendsInFlight === 0) this.closeSocket();
  }

  sendWasBlocked(peerPath: string): void {
    if (this.blockedReported) return;
    this.blockedReported = true;
    this.context.logger.error(
      { listener: this.context.name, peer: peerPath },
      `${this.label}: a reply had to wait for a slow peer; node-unix-socket stops receiving on the ` +
        'socket after that, so restart the listener',
    );
  }

  private onDatagram(message: Buffer, peerPath: string): void {
    const known = this.peers.get(peerPath);
    if (known !== undefined) {
      known.receive(message);
      return;
    }
    if (this.closing) return;
    if (peerPath === '') {
      this.context.logger.debug({ listener: this.context.name }, 'dropped a datagram from an unbound socket');
      return;
    }
    // Registered before the proxy is asked, so a burst from a new peer makes one session.
    const conduit = new DgramPeerConduit(this, peerPath);
    this.peers.set(peerPath, conduit);
    conduit.receive(message);
    this.offer(conduit);
  }

  private closeSocket(): void {
    // Never under queued sends: node-unix-socket would crash the process (see DgramConduit).
    if (this.sendsInFlight > 0) {
      this.closeWanted = true;
      return;
    }
    this.closeWanted = false;
    this.dgramSocket?.close();
    this.dgramSocket = undefined;
  }
}

/** The listener for a spec's `mode` (stream when unset). */
export function createUdsListener(context: ListenerContext): ListenerTransport {
  const mode = context.spec.protocol === 'UnixDomainSocket' ? context.spec.mode : undefined;
  switch (mode) {
    case 'seqpacket':
      return new SeqpacketUdsListener(context);
    case 'dgram':
      return new DgramUdsListener(context);
    default:
      return new StreamUdsListener(context);
  }
}
