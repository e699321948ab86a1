import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import type { ClusterSpec, ListenerSpec } from '@l7mp/config';
import {
  type Conduit,
  ConnectError,
  ConnectTimeoutError,
  FramingError,
  type ListenerTransport,
} from '@l7mp/core';
import { TcpCluster, TcpListener, TcpListenError, tcpTransport } from '@l7mp/transport-tcp';
import {
  AcceptQueue,
  clusterContext,
  randomMessages,
  Recorder,
  writeWithBackpressure,
} from '@l7mp/core/testing';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<T extends Conduit>(conduit: T): T {
  cleanups.push(() => conduit.destroy());
  return conduit;
}

async function startListener(spec: Partial<Extract<ListenerSpec, { protocol: 'TCP' }>> = {}) {
  const accepted = new AcceptQueue();
  const listener = new TcpListener(
    accepted.context('tcp-in', { protocol: 'TCP', port: 0, address: '127.0.0.1', ...spec }),
  );
  await listener.start();
  cleanups.push(() => listener.close());
  const bound = listener.address();
  if (bound === undefined) throw new Error('listener not bound');
  return { listener, accepted, port: bound.port };
}

function request(port: number, options: { timeoutMs?: number; signal?: AbortSignal; address?: string } = {}) {
  return {
    endpoint: { name: 'ep-1', spec: { address: options.address ?? '127.0.0.1', port }, weight: 1 },
    sessionName: 'test-session',
    metadata: {},
    timeoutMs: options.timeoutMs ?? 2000,
    signal: options.signal ?? new AbortController().signal,
  };
}

function cluster(spec: Partial<Extract<ClusterSpec, { protocol: 'TCP' }>> = {}) {
  return new TcpCluster(clusterContext('tcp-out', { protocol: 'TCP', port: 1, ...spec }));
}

/** A pair of connected conduits: the cluster side and the listener side. */
async function connectedPair(framing?: 'length-prefixed' | 'newline') {
  const { accepted, port } = await startListener(framing ? { framing } : {});
  const client = new Recorder(track(await cluster(framing ? { framing } : {}).connect(request(port))));
  const incoming = await accepted.next(0);
  const server = new Recorder(track(incoming.conduit));
  return { client, server, incoming, port };
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('tcpTransport plugin', () => {
  it('registers a TCP listener and a TCP cluster', () => {
    expect(tcpTransport.listeners?.map((f) => f.protocol)).toEqual(['TCP']);
    expect(tcpTransport.clusters?.map((f) => f.protocol)).toEqual(['TCP']);
    const created = tcpTransport.clusters?.[0]?.create(clusterContext('c', { protocol: 'TCP', port: 1 }));
    expect(created).toBeInstanceOf(TcpCluster);
    expect(created?.retriable).toBe(true);
    expect(created?.virtual).toBe(false);
  });

  it('rejects a spec of another protocol', () => {
    expect(() => new TcpCluster(clusterContext('c', { protocol: 'UDP', port: 1 }))).toThrow(
      /given a UDP spec/,
    );
    const accepted = new AcceptQueue();
    expect(() => new TcpListener(accepted.context('l', { protocol: 'UDP', port: 1 }))).toThrow(
      /given a UDP spec/,
    );
  });
});

describe('TCP listener and cluster', () => {
  it('carries bytes both ways and names the session after both ends', async () => {
    const { client, server, incoming, port } = await connectedPair();
    expect(client.conduit.kind).toBe('byte-stream');
    expect(server.conduit.kind).toBe('byte-stream');
    client.conduit.write(Buffer.from('ping'));
    await server.untilBytes(4);
    server.conduit.write(Buffer.from('pong!'));
    await client.untilBytes(5);
    expect(server.data.toString()).toBe('ping');
    expect(client.data.toString()).toBe('pong!');

    expect(incoming.name).toMatch(new RegExp(`^TCP:127\\.0\\.0\\.1:\\d+-127\\.0\\.0\\.1:${port}-0$`));
    const metadata = incoming.metadata as { IP: Record<string, unknown>; TCP: Record<string, unknown> };
    expect(metadata.IP).toEqual({ src_addr: '127.0.0.1', dst_addr: '127.0.0.1' });
    expect(metadata.TCP.dst_port).toBe(port);
    expect(typeof metadata.TCP.src_port).toBe('number');
  });

  it('gives every connection its own id', async () => {
    const { accepted, port } = await startListener();
    const tcp = cluster();
    track(await tcp.connect(request(port)));
    track(await tcp.connect(request(port)));
    const first = await accepted.next(0);
    const second = await accepted.next(1);
    track(first.conduit);
    track(second.conduit);
    expect(first.name.endsWith('-0')).toBe(true);
    expect(second.name.endsWith('-1')).toBe(true);
  });

  it('listens on all interfaces when no address is given', async () => {
    const accepted = new AcceptQueue();
    const listener = new TcpListener(accepted.context('any', { protocol: 'TCP', port: 0 }));
    await listener.start();
    cleanups.push(() => listener.close());
    const bound = listener.address();
    expect(['::', '0.0.0.0']).toContain(bound?.address);
    track(await cluster().connect(request(bound?.port ?? 0)));
    track((await accepted.next(0)).conduit);
  });

  it('supports half-close: the peer end arrives as end and the other direction keeps working', async () => {
    const { client, server } = await connectedPair();
    client.conduit.write(Buffer.from('last words'));
    client.conduit.end();
    await server.untilEnd();
    expect(server.data.toString()).toBe('last words');
    expect(server.closed).toBe(false);
    expect(server.conduit.write(Buffer.from('reply after end'))).toBe(true);
    await client.untilBytes(15);
    expect(client.data.toString()).toBe('reply after end');
    server.conduit.end();
    await client.untilEnd();
    await Promise.all([client.untilClose(), server.untilClose()]);
    expect(client.closeError).toBeUndefined();
    expect(server.closeError).toBeUndefined();
  });

  it('reports the peer closing as end, then close once, when our side ends too', async () => {
    const { client, server } = await connectedPair();
    let closes = 0;
    let ends = 0;
    server.conduit.setHandlers({
      data: () => undefined,
      end: () => ends++,
      drain: () => undefined,
      close: () => closes++,
    });
    client.conduit.destroy();
    expect(client.conduit.closed).toBe(true);
    // TCP cannot tell a closed peer from a half-closed one: the FIN arrives as end.
    await waitFor(() => ends === 1);
    server.conduit.end();
    await waitFor(() => closes === 1);
    server.conduit.destroy();
    expect(closes).toBe(1);
    expect(server.conduit.write(Buffer.from('x'))).toBe(false);
  });

  it('reports a reset by the peer as close with the error', async () => {
    const { client, server } = await connectedPair();
    // Writing to a peer that has gone away gets a reset back.
    client.conduit.destroy();
    await server.untilEnd();
    // The first write draws a reset; a later one fails with EPIPE/ECONNRESET.
    while (!server.closed) {
      server.conduit.write(Buffer.from('into the void'));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(server.closeError?.message).toMatch(/EPIPE|ECONNRESET/);
  });

  it('applies backpressure and delivers a large volume intact', async () => {
    const { client, server } = await connectedPair();
    const payload = Buffer.alloc(24 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE(i, i);
    // A paused reader lets the kernel buffers fill up, so write() must report false.
    server.conduit.pause();
    const writing = writeWithBackpressure(client, payload, 64 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.conduit.resume();
    const waits = await writing;
    await server.untilBytes(payload.length);
    expect(waits).toBeGreaterThan(0);
    expect(createHash('sha256').update(server.data).digest('hex')).toBe(
      createHash('sha256').update(payload).digest('hex'),
    );
  });

  it('closes the session when routing fails', async () => {
    const { accepted, port } = await startListener();
    accepted.result = { ok: false, status: 404, message: 'No route' };
    const client = new Recorder(track(await cluster().connect(request(port))));
    await client.untilEnd();
    expect(accepted.connections).toHaveLength(1);
    expect(accepted.connections[0]?.conduit.closed).toBe(true);
  });
});

describe.each(['length-prefixed', 'newline'] as const)('TCP with %s framing', (framing) => {
  it('keeps the boundaries of 200 messages in both directions', async () => {
    const { client, server } = await connectedPair(framing);
    expect(client.conduit.kind).toBe('datagram');
    expect(server.conduit.kind).toBe('datagram');
    const up = randomMessages(200);
    const down = randomMessages(200);
    for (const message of up) client.conduit.write(message);
    for (const message of down) server.conduit.write(message);
    await Promise.all([server.untilMessages(200), client.untilMessages(200)]);
    expect(server.chunks.map((m) => m.toString('latin1'))).toEqual(up.map((m) => m.toString('latin1')));
    expect(client.chunks.map((m) => m.toString('latin1'))).toEqual(down.map((m) => m.toString('latin1')));
  });
});

describe('TCP framing errors', () => {
  it('closes the conduit with a FramingError when a message cannot be framed', async () => {
    const { client } = await connectedPair('newline');
    expect(client.conduit.write(Buffer.from('two\nlines'))).toBe(false);
    await client.untilClose();
    expect(client.closeError).toBeInstanceOf(FramingError);
  });

  it('closes the conduit with a FramingError when the peer sends an oversized frame', async () => {
    const { accepted, port } = await startListener({ framing: 'length-prefixed' });
    const raw: Socket = netConnect({ host: '127.0.0.1', port });
    cleanups.push(() => raw.destroy());
    raw.on('error', () => undefined);
    const server = new Recorder(track((await accepted.next(0)).conduit));
    raw.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await server.untilClose();
    expect(server.closeError).toBeInstanceOf(FramingError);
    expect(server.closeError?.message).toMatch(/exceeds the limit/);
  });

  it('reports a frame truncated by the peer closing', async () => {
    const { accepted, port } = await startListener({ framing: 'length-prefixed' });
    const raw: Socket = netConnect({ host: '127.0.0.1', port });
    cleanups.push(() => raw.destroy());
    raw.on('error', () => undefined);
    const server = new Recorder(track((await accepted.next(0)).conduit));
    raw.end(Buffer.from([0, 0, 0, 10, 1, 2]));
    await server.untilClose();
    expect(server.closeError?.message).toMatch(/stream ended inside a frame/);
  });
});

describe('TCP listener start and close', () => {
  it('rejects when the port is taken and leaves nothing bound', async () => {
    const { port } = await startListener();
    const accepted = new AcceptQueue();
    const second = new TcpListener(
      accepted.context('clash', { protocol: 'TCP', port, address: '127.0.0.1' }),
    );
    const failure = second.start();
    await expect(failure).rejects.toBeInstanceOf(TcpListenError);
    await expect(failure).rejects.toThrow(
      new RegExp(`TCP listener "clash": cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
    );
    expect(second.address()).toBeUndefined();
    await second.close();
  });

  it('rejects a bad bind address', async () => {
    const accepted = new AcceptQueue();
    const listener = new TcpListener(
      accepted.context('bad', { protocol: 'TCP', port: 0, address: '192.0.2.123' }),
    );
    await expect(listener.start()).rejects.toThrow(/cannot listen on 192\.0\.2\.123:0: .*EADDRNOTAVAIL/);
  });

  it('frees the port on close while live sessions go on', async () => {
    const { listener, client, server, port } = await (async () => {
      const started = await startListener();
      const c = new Recorder(track(await cluster().connect(request(started.port))));
      const s = new Recorder(track((await started.accepted.next(0)).conduit));
      return { ...started, client: c, server: s };
    })();
    await listener.close();
    expect(listener.address()).toBeUndefined();
    await expect(cluster().connect(request(port))).rejects.toThrow(/ECONNREFUSED/);
    client.conduit.write(Buffer.from('still here'));
    await server.untilBytes(10);
    // The same port can be listened on again.
    const accepted = new AcceptQueue();
    const again = new TcpListener(accepted.context('again', { protocol: 'TCP', port, address: '127.0.0.1' }));
    await again.start();
    cleanups.push(() => again.close());
    expect(again.address()?.port).toBe(port);
  });
});

/** A listening TCP socket in a stopped process: its accept queue fills and SYNs go unanswered. */
async function unresponsiveServer(): Promise<number> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '-e',
      "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log(s.address().port)})",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  cleanups.push(() => {
    child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (line: Buffer) => resolve(Number(line.toString().trim())));
    child.once('error', reject);
  });
  child.kill('SIGSTOP');
  // Fill the accept queue so that further connection attempts hang.
  for (let i = 0; i < 4; i++) {
    const filler = netConnect({ host: '127.0.0.1', port });
    filler.on('error', () => undefined);
    cleanups.push(() => filler.destroy());
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  return port;
}

describe('TCP cluster connect failures', () => {
  it('reports a refused connection with the endpoint and the reason', async () => {
    const port = await freePort();
    const failure = cluster().connect(request(port));
    await expect(failure).rejects.toBeInstanceOf(ConnectError);
    await expect(failure).rejects.toThrow(
      new RegExp(`TCP cluster "tcp-out": endpoint "ep-1" \\(127\\.0\\.0\\.1:${port}\\): .*ECONNREFUSED`),
    );
  });

  it('times out after timeoutMs', async () => {
    const port = await unresponsiveServer();
    const failure = cluster().connect(request(port, { timeoutMs: 150 }));
    await expect(failure).rejects.toBeInstanceOf(ConnectTimeoutError);
    await expect(failure).rejects.toThrow(/connect timed out after 150 ms/);
  });

  it('gives up when the request is aborted', async () => {
    const port = await unresponsiveServer();
    const controller = new AbortController();
    const failure = cluster().connect(request(port, { signal: controller.signal, timeoutMs: 10000 }));
    setTimeout(() => controller.abort(), 20);
    await expect(failure).rejects.toThrow(/connect aborted/);
  });

  it('rejects at once when the request was aborted before', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(cluster().connect(request(1, { signal: controller.signal }))).rejects.toThrow(
      /connect aborted/,
    );
  });

  it('rejects an endpoint without an address, or no endpoint at all', async () => {
    const tcp = cluster();
    const base = request(1);
    await expect(tcp.connect({ ...base, endpoint: { name: 'bare', spec: {}, weight: 1 } })).rejects.toThrow(
      /endpoint "bare" has no address/,
    );
    await expect(tcp.connect({ ...base, endpoint: undefined })).rejects.toThrow(/no endpoint to connect to/);
  });

  it('uses the cluster port unless the endpoint has its own, and binds locally as asked', async () => {
    const { accepted, port } = await startListener();
    const tcp = cluster({ port, bind: { address: '127.0.0.1' } });
    const base = request(port);
    track(
      await tcp.connect({
        ...base,
        endpoint: { name: 'no-port', spec: { address: '127.0.0.1' }, weight: 1 },
      }),
    );
    const incoming = await accepted.next(0);
    track(incoming.conduit);
    expect((incoming.metadata as { TCP: { dst_port: number } }).TCP.dst_port).toBe(port);
  });

  it('reports a bad bind address as a connect error', async () => {
    const { port } = await startListener();
    const failure = cluster({ port, bind: { address: 'not-an-ip' } }).connect(request(port));
    await expect(failure).rejects.toBeInstanceOf(ConnectError);
  });
});

// Keep the type import used when the file is read on its own.
export type { ListenerTransport, Server };
