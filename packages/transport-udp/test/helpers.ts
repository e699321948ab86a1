import { createSocket, type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import type { ListenerSpec } from '@l7mp/config';
import type { AcceptResult, Conduit, IncomingConnection, ListenerTransport } from '@l7mp/core';
import { makeListenerContext, withTimeout, type TestListenerContext } from '@l7mp/core/testing';
import { UdpListener } from '../src';

/** A plain dgram socket playing a UDP peer, recording what it receives. */
export class RawPeer {
  readonly messages: { data: Buffer; from: RemoteInfo }[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on('message', (data, from) => {
      this.messages.push({ data, from });
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string | Buffer, port: number, address: string): void {
    this.socket.send(typeof text === 'string' ? Buffer.from(text) : text, port, address);
  }

  waitFor(count: number, ms = 3000): Promise<string[]> {
    const ready = (): boolean => this.messages.length >= count;
    const texts = (): string[] => this.messages.slice(0, count).map((m) => m.data.toString());
    if (ready()) return Promise.resolve(texts());
    const promise = new Promise<string[]>((resolve) => {
      const check = (): void => {
        if (ready()) resolve(texts());
        else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
    return withTimeout(promise, ms, `${count} datagrams at the raw peer`);
  }
}

/** Tracks everything a test opens so afterEach can close it whatever happened. */
export class Resources {
  private readonly sockets: Socket[] = [];
  private readonly listeners: ListenerTransport[] = [];
  private readonly conduits: Conduit[] = [];
  private readonly contexts: TestListenerContext[] = [];

  async peer(type: SocketType = 'udp4', address = type === 'udp6' ? '::1' : '127.0.0.1'): Promise<RawPeer> {
    const socket = createSocket(type);
    this.sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => {
        socket.removeListener('error', reject);
        resolve();
      });
    });
    return new RawPeer(socket);
  }

  /** A raw peer bound to a given port on 127.0.0.1 (e.g. a remote coming back). */
  async peerOn(port: number): Promise<RawPeer> {
    const socket = this.track(createSocket('udp4'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => {
        socket.removeListener('error', reject);
        resolve();
      });
    });
    return new RawPeer(socket);
  }

  /** A UDP echo server on loopback. */
  async echoServer(type: SocketType = 'udp4'): Promise<RawPeer> {
    const peer = await this.peer(type);
    peer.socket.on('message', (data, from) => peer.socket.send(data, from.port, from.address));
    return peer;
  }

  conduit<T extends Conduit>(conduit: T): T {
    this.conduits.push(conduit);
    return conduit;
  }

  async listener(
    spec: ListenerSpec,
    accept?: (connection: IncomingConnection) => AcceptResult | Promise<AcceptResult>,
  ): Promise<{ listener: UdpListener; context: TestListenerContext; port: number; address: string }> {
    const context = makeListenerContext(spec, accept, { name: 'udp-test' });
    const listener = new UdpListener(context);
    this.listeners.push(listener);
    this.contexts.push(context);
    await listener.start();
    const bound = listener.address();
    if (bound === undefined) throw new Error('listener has no address after start');
    return { listener, context, ...bound };
  }

  /** Binds a socket without SO_REUSEADDR: it fails (EADDRINUSE) while any socket holds the port. */
  async bindsExclusively(port: number, address: string): Promise<boolean> {
    const socket = this.track(createSocket(address.includes(':') ? 'udp6' : 'udp4'));
    return new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, address, () => resolve(true));
    });
  }

  track(socket: Socket): Socket {
    this.sockets.push(socket);
    return socket;
  }

  async release(): Promise<void> {
    for (const conduit of this.conduits.splice(0)) conduit.destroy();
    // Server-mode peers keep the listening socket open, so every accepted conduit is released.
    for (const context of this.contexts.splice(0)) {
      for (const connection of context.connections) connection.conduit.destroy();
    }
    await Promise.allSettled(this.listeners.splice(0).map((l) => l.close()));
    for (const socket of this.sockets.splice(0)) {
      try {
        socket.close();
      } catch {
        // already closed by the test
      }
    }
  }
}

/** Resolves after `ms`; only used for bounded "nothing arrives" checks. */
export function quietPeriod(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
