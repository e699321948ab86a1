import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BaseConduit, type Conduit } from '@l7mp/core';
import { DgramSocket } from 'node-unix-socket';
import { WriteWindow } from './write-window';

type SendCallback = (error: Error | undefined) => void;

/**
 * The shared part of the two SOCK_DGRAM conduits: every write is one `sendTo` to a fixed peer
 * path, `end` releases the conduit once the queued datagrams are sent, and a failed send (the
 * peer's socket is gone) closes the conduit with the error. A connectionless socket never hears
 * that its peer went away otherwise, and node-unix-socket cannot pause reading.
 */
abstract class DgramConduit extends BaseConduit {
  readonly kind = 'datagram' as const;
  private readonly window = new WriteWindow(() => this.deliverDrain());
  private ending = false;
  private inSendTo = false;
  private readonly onSent: SendCallback = (error) => {
    this.window.done();
    this.sendFinished();
    // node-unix-socket 0.2.7 completes a send asynchronously only when the kernel refused it at
    // first (the receiver's queue was full), and after that its socket never receives again.
    if (!this.inSendTo) this.sendWasBlocked();
    if (error !== undefined && error !== null) {
      this.destroy(new Error(`send to ${this.peerPath} failed: ${error.message}`, { cause: error }));
    } else if (this.ending && this.window.pending === 0) {
      this.destroy();
    }
  };

  protected constructor(protected readonly peerPath: string) {
    super();
  }

  protected abstract get socket(): DgramSocket;

  /** A datagram from the peer. */
  receive(message: Buffer): void {
    this.deliverData(message);
  }

  protected send(message: Buffer): boolean {
    this.inSendTo = true;
    this.sendStarted();
    try {
      this.socket.sendTo(message, 0, message.length, this.peerPath, this.onSent);
    } catch (error) {
      // No callback will come for a send that threw (closed socket): undo the count.
      this.sendFinished();
      throw error;
    } finally {
      this.inSendTo = false;
    }
    return this.window.add();
  }

  protected sendStarted(): void {}

  /** A send had to wait for the peer: the socket has stopped receiving (library bug). */
  protected abstract sendWasBlocked(): void;
  /**
   * Called after each send completes. node-unix-socket 0.2.7 crashes the process (double free)
   * when a socket is closed while sends are queued, so sockets close only once this says none are.
   */
  protected abstract sendFinished(): void;

  protected get pendingSends(): number {
    return this.window.pending;
  }

  protected sendEnd(): void {
    this.ending = true;
    if (this.window.pending === 0) this.destroy();
  }
}

/** What a dgram listener offers its per-peer conduits. */
export interface DgramPeerOwner {
  readonly socket: DgramSocket;
  /** Sends through the owner's socket are counted so that it is never closed under them. */
  sendStarted(): void;
  sendFinished(): void;
  forget(peerPath: string, conduit: DgramPeerConduit): void;
  /** One of the listener's sends had to wait; see DgramConduit.onSent. */
  sendWasBlocked(peerPath: string): void;
}

/** One peer of a dgram listener: replies go out of the listener's socket to the peer's path. */
export class DgramPeerConduit extends DgramConduit {
  constructor(
    private readonly owner: DgramPeerOwner,
    peerPath: string,
  ) {
    super(peerPath);
  }

  protected get socket(): DgramSocket {
    return this.owner.socket;
  }

  protected release(): void {
    this.owner.forget(this.peerPath, this);
  }

  protected sendWasBlocked(): void {
    this.owner.sendWasBlocked(this.peerPath);
  }

  protected override sendStarted(): void {
    this.owner.sendStarted();
  }

  protected sendFinished(): void {
    this.owner.sendFinished();
  }
}

/** The client side: a socket of its own, bound to a private path so the server can reply. */
export class DgramClientConduit extends DgramConduit {
  constructor(
    private readonly ownSocket: DgramSocket,
    private readonly ownPath: string,
    serverPath: string,
  ) {
    super(serverPath);
    // Only the server knows our private path, so whatever arrives is its reply.
    ownSocket.on('data', (message: Buffer) => this.receive(message));
    ownSocket.on('error', (error: Error) => this.destroy(error));
  }

  protected get socket(): DgramSocket {
    return this.ownSocket;
  }

  protected sendWasBlocked(): void {
    this.destroy(
      new Error(
        `the server at ${this.peerPath} did not keep up (its queue was full) and the client socket ` +
          'can no longer receive (node-unix-socket limitation)',
      ),
    );
  }

  private closeWanted = false;

  protected sendFinished(): void {
    if (this.closeWanted && this.pendingSends === 0) this.closeSocket();
  }

  protected release(): void {
    if (this.pendingSends === 0) this.closeSocket();
    else this.closeWanted = true;
  }

  private closeSocket(): void {
    this.closeWanted = false;
    this.ownSocket.close();
    try {
      // Synchronous so the file is gone when close is reported; once per connection only.
      unlinkSync(this.ownPath);
    } catch {
      // Already removed: nothing to clean up.
    }
  }
}

let clientCounter = 0;

/** A private socket path next to the server's, unique to this process and connection. */
export function clientSocketPath(serverPath: string): string {
  const name = `.l7mp-${process.pid}-${clientCounter++}-${randomBytes(4).toString('hex')}.sock`;
  return join(dirname(serverPath), name);
}

/** Opens a dgram "connection": binds a private path and sends every write to `serverPath`. */
export function openDgramClient(serverPath: string): Conduit {
  const ownPath = clientSocketPath(serverPath);
  const socket = new DgramSocket();
  try {
    socket.bind(ownPath);
  } catch (error) {
    socket.close();
    throw new Error(`cannot bind the client socket ${ownPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return new DgramClientConduit(socket, ownPath, serverPath);
}
