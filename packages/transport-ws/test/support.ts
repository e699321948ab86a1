import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { ClusterSpec, ListenerSpec } from '@l7mp/config';
import {
  silentLogger,
  type AcceptResult,
  type ClusterContext,
  type Conduit,
  type ConduitHandlers,
  type IncomingConnection,
  type ListenerContext,
  type TransportFactories,
} from '@l7mp/core';
import { Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';

const unusedFactories: TransportFactories = {
  createListener: () => {
    throw new Error('no inner transports in this test');
  },
  createCluster: () => {
    throw new Error('no inner transports in this test');
  },
};

/** A listener context whose accept() records connections and answers with `result`. */
export function listenerContext(
  spec: ListenerSpec,
  result: AcceptResult = { ok: true, status: 200, message: 'OK' },
): { context: ListenerContext; connections: IncomingConnection[]; next(): Promise<IncomingConnection> } {
  const connections: IncomingConnection[] = [];
  const waiters: ((connection: IncomingConnection) => void)[] = [];
  let taken = 0;
  const context: ListenerContext = {
    name: 'ws-in',
    spec,
    logger: silentLogger(),
    transports: unusedFactories,
    accept: async (connection) => {
      connections.push(connection);
      waiters.shift()?.(connection);
      return result;
    },
  };
  return {
    context,
    connections,
    next: () => {
      const index = taken++;
      const ready = connections[index];
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

export function clusterContext(spec: ClusterSpec): ClusterContext {
  return {
    name: 'ws-out',
    spec,
    logger: silentLogger(),
    transports: unusedFactories,
    metrics: new Registry(),
  };
}

/** Records what a conduit reports, with promises for the events tests wait on. */
export class Recorder implements ConduitHandlers {
  readonly chunks: Buffer[] = [];
  ended = false;
  closedWith: { error: Error | undefined } | undefined;
  drains = 0;
  private dataWaiters: { count: number; resolve: () => void }[] = [];
  private closeWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];

  constructor(conduit?: Conduit) {
    conduit?.setHandlers(this);
  }

  data(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.dataWaiters = this.dataWaiters.filter((waiter) => {
      if (this.chunks.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  end(): void {
    this.ended = true;
  }

  close(error?: Error): void {
    this.closedWith = { error };
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }

  drain(): void {
    this.drains++;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  waitForChunks(count: number): Promise<void> {
    if (this.chunks.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.dataWaiters.push({ count, resolve }));
  }

  waitForClose(): Promise<Error | undefined> {
    if (this.closedWith !== undefined) return Promise.resolve(this.closedWith.error);
    return new Promise((resolve) => this.closeWaiters.push(() => resolve(this.closedWith?.error)));
  }

  waitForDrain(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}

/** `count` random buffers of 1..maxSize bytes. */
export function randomMessages(count: number, maxSize: number): Buffer[] {
  const messages: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const size = 1 + Math.floor(Math.random() * maxSize);
    messages.push(randomBytes(size));
  }
  return messages;
}

/** A port nothing listens on (bound, then released). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  const port = address !== null && typeof address === 'object' ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** A TCP server that accepts connections and never answers (for handshake timeouts). */
export async function silentServer(): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = address !== null && typeof address === 'object' ? address.port : 0;
  return {
    server,
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Resolves after `ms` (only for bounded "nothing arrives" checks). */
export function quietPeriod(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface EchoServer {
  port: number;
  upgrades: IncomingMessage[];
  sockets: WebSocket[];
}

/**
 * A ws echo server that records each upgrade request; its shutdown is pushed onto `cleanups`
 * (run in reverse order after each test).
 */
export async function echoServer(
  cleanups: (() => Promise<void> | void)[],
  host = '127.0.0.1',
): Promise<EchoServer> {
  const upgrades: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  const wss = new WebSocketServer({ port: 0, host });
  wss.on('connection', (ws, request) => {
    upgrades.push(request);
    sockets.push(ws);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await once(wss, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  const address = wss.address();
  return { port: address !== null && typeof address === 'object' ? address.port : 0, upgrades, sockets };
}
