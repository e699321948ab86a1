import type { Socket } from 'node:dgram';
import { BaseConduit } from '@l7mp/core';
import { closeQuietly } from './socket';

/**
 * A conduit over a connected UDP socket that it owns (singleton listener, cluster). One write is
 * one datagram. There is no backpressure: dgram queues sends in the kernel and drops on overflow.
 * An ICMP error reported on the connected socket (ECONNREFUSED: nobody listens at the remote)
 * closes the conduit with that error, which is how a lost peer is noticed.
 */
export class ConnectedDatagramConduit extends BaseConduit {
  readonly kind = 'datagram' as const;
  private readonly socket: Socket;

  constructor(socket: Socket) {
    super();
    this.socket = socket;
    socket.on('message', this.onMessage);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** The local address and port of the socket (undefined once it is closed). */
  localAddress(): { address: string; port: number } | undefined {
    try {
      const { address, port } = this.socket.address();
      return { address, port };
    } catch {
      return undefined;
    }
  }

  /** The connected remote's address and port (undefined once the socket is closed). */
  remoteAddress(): { address: string; port: number } | undefined {
    try {
      const { address, port } = this.socket.remoteAddress();
      return { address, port };
    } catch {
      return undefined;
    }
  }

  protected send(chunk: Buffer): boolean {
    this.socket.send(chunk);
    return true;
  }

  protected sendEnd(): void {
    // A datagram socket has no half-close; ending the writing side releases it (as the anchor did).
    this.destroy();
  }

  protected release(): void {
    this.socket.removeListener('message', this.onMessage);
    this.socket.removeListener('close', this.onClose);
    // The error listener stays so that a late error from the closing socket is never unhandled.
    closeQuietly(this.socket);
  }

  private readonly onMessage = (message: Buffer): void => {
    this.deliverData(message);
  };

  private readonly onError = (error: Error): void => {
    this.destroy(error);
  };

  private readonly onClose = (): void => {
    this.deliverClose();
  };
}

/** What a server-mode peer conduit needs from its listener. */
export interface PeerTable {
  /** Drops the peer's entry so that its next datagram starts a new session. */
  forget(peer: UdpPeerConduit): void;
}

/**
 * One remote peer of a server-mode listener. Datagrams are demultiplexed in user space from the
 * listener's single socket (see the README for why), so this conduit owns no socket: it sends
 * through the listener's socket to the peer's address and frees its table entry when it closes.
 */
export class UdpPeerConduit extends BaseConduit {
  readonly kind = 'datagram' as const;
  /** Idle sweeps since the last datagram in either direction; reset by traffic, read by the sweeper. */
  idleSweeps = 0;

  constructor(
    private readonly table: PeerTable,
    private readonly socket: Socket,
    readonly address: string,
    readonly port: number,
  ) {
    super();
  }

  /** Called by the listener for each datagram from this peer. */
  receive(message: Buffer): void {
    this.idleSweeps = 0;
    this.deliverData(message);
  }

  protected send(chunk: Buffer): boolean {
    this.idleSweeps = 0;
    this.socket.send(chunk, this.port, this.address);
    return true;
  }

  protected sendEnd(): void {
    this.destroy();
  }

  protected release(): void {
    this.table.forget(this);
  }
}
