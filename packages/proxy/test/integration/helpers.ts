import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SeqpacketServer, SeqpacketSocket } from 'node-unix-socket';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { createProxy, type Proxy } from '@l7mp/core';
import { ALL_TRANSPORTS } from '../../src/transports';

/**
 * Real loopback servers and clients for the black-box proxy tests. Everything a helper opens is
 * registered with a `Resources` object so that each test closes all of it in `afterEach`.
 */

export const LOOPBACK = '127.0.0.1';
const DEFAULT_WAIT_MS = 3000;

type CloseFn = () => Promise<void> | void;

/** Everything a test opened, closed in reverse order. */
export class Resources {
  private readonly closers: CloseFn[] = [];
  private dir: string | undefined;

  add(close: CloseFn): void {
    this.closers.push(close);
  }

  /** A private temporary directory (for socket files and logs), removed by closeAll. */
  async tempDir(): Promise<string> {
    this.dir ??= await mkdtemp(path.join(tmpdir(), 'l7mp-it-'));
    return this.dir;
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch {
        // Closing is best effort: one failure must not leak the rest.
      }
    }
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /** A proxy with every transport, configured with `config`, closed by closeAll. */
  async proxy(config: unknown): Promise<Proxy> {
    const proxy = createProxy({ transports: [...ALL_TRANSPORTS] });
    this.add(() => proxy.close());
    await proxy.applyConfig(config);
    return proxy;
  }
}

/** The port a listener got after asking for port 0. */
export function listenerPort(proxy: Proxy, listener: string): number {
  const bound = proxy.listenerAddress(listener);
  if (bound === undefined || !('port' in bound)) throw new Error(`listener ${listener} has no port`);
  return bound.port;
}

/** Polls `predicate` (cheaply, every 10 ms) until it holds; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  what: string,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves with `promise`, or rejects naming `what` after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Queues items as they arrive and hands them out in order, with a bounded wait. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T) => void) | undefined;
  received = 0;

  push(item: T): void {
    this.received++;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter(item);
    } else {
      this.items.push(item);
    }
  }

  next(what = 'a message', timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
    const queued = this.items.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return within(
      new Promise<T>((resolve) => {
        this.waiter = resolve;
      }),
      what,
      timeoutMs,
    ).finally(() => {
      this.waiter = undefined;
    });
  }

  /** True if nothing new arrives within `ms` (a bounded "nothing comes back" check). */
  async staysEmpty(ms: number): Promise<boolean> {
    const before = this.received;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.received === before;
  }
}

/** Collects a byte stream and waits for a given number of bytes or a given text. */
export class ByteCollector {
  private chunks: Buffer[] = [];
  private length = 0;
  private listeners: (() => void)[] = [];
  ended = false;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.notify();
  }

  markEnded(): void {
    this.ended = true;
    this.notify();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    return this.bytes.toString('utf8');
  }

  private notify(): void {
    for (const listener of this.listeners.splice(0)) listener();
  }

  private async until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await within(new Promise<void>((resolve) => this.listeners.push(resolve)), what, left);
    }
  }

  async waitBytes(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    await this.until(() => this.length >= count, `${count} bytes (got ${this.length})`, timeoutMs);
    return this.bytes;
  }

  async waitText(text: string, timeoutMs = DEFAULT_WAIT_MS): Promise<string> {
    await this.until(
      () => this.text().includes(text),
      `"${text}" (got "${this.text().slice(0, 200)}")`,
      timeoutMs,
    );
    return this.text();
  }

  async waitEnd(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await this.until(() => this.ended, 'the end of the stream', timeoutMs);
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
  }
}

// ---------------------------------------------------------------- servers

export interface TcpServer {
  server: Server;
  port: number;
  /** Server-side sockets of the live connections, oldest first. */
  sockets: Socket[];
  /** Every byte each connection received, by connection order. */
  received: ByteCollector[];
  connections(): Promise<number>;
}

/**
 * A TCP (or Unix stream, with `socketPath`) echo server; every chunk comes back prefixed with
 * `tag` if one is given. It follows the client's half-close with its own.
 */
export async function tcpEchoServer(
  resources: Resources,
  options: { tag?: string; socketPath?: string } = {},
): Promise<TcpServer> {
  const sockets: Socket[] = [];
  const received: ByteCollector[] = [];
  const prefix = options.tag !== undefined ? Buffer.from(options.tag) : undefined;
  const server = createServer((socket) => {
    sockets.push(socket);
    const collector = new ByteCollector();
    received.push(collector);
    socket.on('data', (chunk: Buffer) => {
      collector.push(chunk);
      socket.write(prefix === undefined ? chunk : Buffer.concat([prefix, chunk]));
    });
    socket.on('end', () => collector.markEnded());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.splice(sockets.indexOf(socket), 1));
  });
  if (options.socketPath !== undefined) {
    const socketPath = options.socketPath;
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  } else {
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  }
  resources.add(() => closeTcpServer(server, sockets));
  const address = server.address();
  const port = address !== null && typeof address === 'object' ? address.port : 0;
  return {
    server,
    port,
    sockets,
    received,
    connections: () =>
      new Promise<number>((resolve, reject) =>
        server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      ),
  };
}

/** Stops listening and destroys every connection; resolves when the server is closed. */
export function closeTcpServer(server: Server, sockets: Socket[]): Promise<void> {
  for (const socket of [...sockets]) socket.destroy();
  if (!server.listening) return Promise.resolve();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port on which nothing listens (bound once, then released). */
export async function closedTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const address = server.address();
  const port = address !== null && typeof address === 'object' ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface UdpServer {
  socket: UdpSocket;
  port: number;
  /** Every datagram the server received. */
  received: Buffer[];
  close(): Promise<void>;
}

/** A UDP echo server; every datagram comes back (prefixed with `tag` if given) to its sender. */
export async function udpEchoServer(resources: Resources, tag?: string): Promise<UdpServer> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  const prefix = tag !== undefined ? Buffer.from(tag) : undefined;
  socket.on('message', (message, peer) => {
    received.push(message);
    socket.send(prefix === undefined ? message : Buffer.concat([prefix, message]), peer.port, peer.address);
  });
  socket.on('error', () => undefined);
  socket.bind(0, LOOPBACK);
  await once(socket, 'listening');
  let closed = false;
  const close = (): Promise<void> => {
    if (closed) return Promise.resolve();
    closed = true;
    return new Promise<void>((resolve) => socket.close(() => resolve()));
  };
  resources.add(close);
  return { socket, port: socket.address().port, received, close };
}

export interface WsServer {
  server: WebSocketServer;
  port: number;
  clients: WebSocket[];
  /** The request path of every connection. */
  paths: string[];
}

/**
 * A WebSocket server; `onConnection` handles each client (default: echo every message as a
 * message of the same type).
 */
export async function wsServer(
  resources: Resources,
  onConnection: (ws: WebSocket) => void = (ws) =>
    ws.on('message', (data: RawData, isBinary: boolean) => ws.send(toBuffer(data), { binary: isBinary })),
): Promise<WsServer> {
  const server = new WebSocketServer({ port: 0, host: LOOPBACK, perMessageDeflate: false });
  const clients: WebSocket[] = [];
  const paths: string[] = [];
  server.on('connection', (ws, request) => {
    clients.push(ws);
    paths.push(request.url ?? '');
    ws.on('error', () => ws.terminate());
    onConnection(ws);
  });
  await once(server, 'listening');
  resources.add(
    () =>
      new Promise<void>((resolve) => {
        for (const ws of clients) ws.terminate();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  return { server, port: address !== null && typeof address === 'object' ? address.port : 0, clients, paths };
}

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** A SOCK_SEQPACKET echo server at `socketPath`. */
export function seqpacketEchoServer(resources: Resources, socketPath: string): { received: Buffer[] } {
  const server = new SeqpacketServer();
  const clients: SeqpacketSocket[] = [];
  const received: Buffer[] = [];
  server.on('connection', (socket: SeqpacketSocket) => {
    clients.push(socket);
    socket.on('data', (message: Buffer) => {
      received.push(message);
      socket.write(message);
    });
    socket.on('error', () => socket.destroy());
  });
  server.listen(socketPath);
  resources.add(() => {
    for (const client of clients) client.destroy();
    server.close();
  });
  return { received };
}

// ---------------------------------------------------------------- clients

export interface TcpClient {
  socket: Socket;
  data: ByteCollector;
  closed: Promise<void>;
}

/**
 * A TCP (or Unix stream) client connected to the proxy. With `allowHalfOpen` it does not answer
 * the proxy's half-close with its own, like a client that still has something to say.
 */
export async function tcpClient(
  resources: Resources,
  target: { port: number } | { path: string },
  options: { allowHalfOpen?: boolean } = {},
): Promise<TcpClient> {
  const allowHalfOpen = options.allowHalfOpen ?? false;
  const socket =
    'port' in target
      ? netConnect({ port: target.port, host: LOOPBACK, allowHalfOpen })
      : netConnect({ path: target.path, allowHalfOpen });
  const data = new ByteCollector();
  socket.on('data', (chunk: Buffer) => data.push(chunk));
  socket.on('end', () => data.markEnded());
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  resources.add(() => {
    socket.destroy();
  });
  await within(once(socket, 'connect'), 'the TCP client to connect');
  return { socket, data, closed };
}

export interface UdpClient {
  socket: UdpSocket;
  port: number;
  inbox: Inbox<Buffer>;
  send(message: string | Buffer): void;
}

/** A UDP client bound to `address` (any loopback address), sending to the proxy's `port`. */
export async function udpClient(resources: Resources, port: number, address = LOOPBACK): Promise<UdpClient> {
  const socket = createSocket('udp4');
  const inbox = new Inbox<Buffer>();
  socket.on('message', (message) => inbox.push(message));
  socket.on('error', () => undefined);
  socket.bind(0, address);
  await once(socket, 'listening');
  resources.add(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return {
    socket,
    port: socket.address().port,
    inbox,
    send: (message) => socket.send(message, port, LOOPBACK),
  };
}

export interface WsClient {
  ws: WebSocket;
  inbox: Inbox<Buffer>;
  closed: Promise<void>;
}

/** A WebSocket client connected to `ws://127.0.0.1:<port><path>`. */
export async function wsClient(
  resources: Resources,
  port: number,
  urlPath = '/',
  headers: Record<string, string> = {},
): Promise<WsClient> {
  const ws = new WebSocket(`ws://${LOOPBACK}:${port}${urlPath}`, { headers, perMessageDeflate: false });
  const inbox = new Inbox<Buffer>();
  ws.on('message', (data: RawData) => inbox.push(toBuffer(data)));
  ws.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  resources.add(() => ws.terminate());
  await within(once(ws, 'open'), 'the WebSocket client to open');
  return { ws, inbox, closed };
}

/** A SOCK_SEQPACKET client connected to `socketPath`. */
export async function seqpacketClient(
  resources: Resources,
  socketPath: string,
): Promise<{ socket: SeqpacketSocket; inbox: Inbox<Buffer> }> {
  const socket = new SeqpacketSocket();
  const inbox = new Inbox<Buffer>();
  socket.on('data', (message: Buffer) => inbox.push(message));
  socket.on('error', () => undefined);
  resources.add(() => socket.destroy());
  await within(
    new Promise<void>((resolve) => socket.connect(socketPath, () => resolve())),
    'the seqpacket client to connect',
  );
  return { socket, inbox };
}

/** An HTTP request to the proxy; resolves with the status, headers and whole body. */
export async function httpRequest(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { request } = await import('node:http');
  return within(
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: LOOPBACK,
          port,
          method: options.method ?? 'POST',
          path: options.path ?? '/',
          headers: { connection: 'close', ...options.headers },
          agent: false,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(options.body);
    }),
    `the HTTP response to ${options.method ?? 'POST'} ${options.path ?? '/'}`,
  );
}

/** A buffer of `size` bytes with a recognisable pattern (index-dependent, not all equal). */
export function pattern(size: number, seed = 0): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 31 + seed * 7) & 0xff;
  return buffer;
}

/** The name of the endpoint a live session's destination stage is connected to. */
export function destinationEndpoint(proxy: Proxy, sessionName: string): string | undefined {
  const dump = proxy.getSession(sessionName) as { destination?: { endpoint?: unknown } };
  const endpoint = dump.destination?.endpoint;
  if (endpoint !== null && typeof endpoint === 'object' && 'name' in endpoint) {
    const name = (endpoint as { name: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}

/** Names of the sessions the proxy lists whose status is not DESTROYED. */
export function liveSessionNames(proxy: Proxy): string[] {
  return proxy
    .sessions()
    .filter((s) => s.status !== 'DESTROYED')
    .map((s) => String(s.name));
}
