import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { ListenerTransport } from '@l7mp/core';
import { WebSocket } from 'ws';
import {
  createWebSocketTransport,
  ListenError,
  WebSocketClosedError,
  WebSocketListener,
  wsTransport,
} from '../src';
import { listenerContext, quietPeriod, randomMessages, Recorder } from './support';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function createListener(
  spec: { port?: number; address?: string; path?: string } = {},
  plugin = wsTransport,
  result?: { ok: boolean; status: number; message: string },
) {
  const harness = listenerContext(
    {
      protocol: 'WebSocket',
      port: spec.port ?? 0,
      address: spec.address ?? '127.0.0.1',
      ...(spec.path ? { path: spec.path } : {}),
    },
    result,
  );
  const factory = plugin.listeners?.[0];
  if (factory === undefined) throw new Error('no listener factory');
  const listener = factory.create(harness.context);
  cleanups.push(() => listener.close());
  return { listener, ...harness };
}

function portOf(listener: ListenerTransport): number {
  const address = listener.address?.();
  if (address === undefined || !('port' in address)) throw new Error('listener not bound');
  return address.port;
}

async function openClient(
  url: string,
  options: { headers?: Record<string, string>; protocols?: string[] } = {},
) {
  const client = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
  cleanups.push(() => {
    client.terminate();
  });
  await once(client, 'open');
  return client;
}

function collectMessages(client: WebSocket, count: number): Promise<Buffer[]> {
  const received: Buffer[] = [];
  return new Promise((resolve) => {
    client.on('message', (data: Buffer) => {
      received.push(data);
      if (received.length === count) resolve(received);
    });
  });
}

describe('WebSocket listener', () => {
  it('hands one session per connection with name and HTTP metadata', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const port = portOf(listener);
    const client = await openClient(`ws://127.0.0.1:${port}/chat/room?user=alice&x=1`, {
      headers: { 'X-Custom': 'hello' },
    });
    const connection = await next();
    const localPort = (client as unknown as { _socket: Socket })._socket.localPort;
    expect(connection.name).toBe(`WS:127.0.0.1:${localPort}-127.0.0.1:${port}-0`);
    expect(connection.conduit.kind).toBe('datagram');
    expect(connection.metadata).toMatchObject({
      IP: { src_addr: '127.0.0.1', dst_addr: '127.0.0.1' },
      TCP: { src_port: localPort, dst_port: port },
      HTTP: {
        version: '1.1',
        method: 'GET',
        url: {
          url: '/chat/room?user=alice&x=1',
          href: '/chat/room?user=alice&x=1',
          protocol: '',
          host: '',
          port: '',
          path: '/chat/room?user=alice&x=1',
          query: 'user=alice&x=1',
        },
        headers: { 'x-custom': 'hello', host: `127.0.0.1:${port}` },
      },
    });
    await openClient(`ws://127.0.0.1:${port}/`);
    expect((await next()).name).toMatch(/^WS:127\.0\.0\.1:\d+-127\.0\.0\.1:\d+-1$/);
  });

  it('keeps message boundaries in both directions', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const client = await openClient(`ws://127.0.0.1:${portOf(listener)}/`);
    const { conduit } = await next();
    const recorder = new Recorder(conduit);

    const upstream = randomMessages(200, 1400);
    for (const message of upstream) client.send(message);
    client.send('a text frame');
    await recorder.waitForChunks(upstream.length + 1);
    expect(recorder.chunks.slice(0, upstream.length)).toEqual(upstream);
    const text = recorder.chunks[upstream.length];
    expect(Buffer.isBuffer(text)).toBe(true);
    expect(text?.toString()).toBe('a text frame');

    const downstream = randomMessages(200, 1400);
    const received = collectMessages(client, downstream.length);
    for (const message of downstream) expect(conduit.write(message)).toBe(true);
    expect(await received).toEqual(downstream);
  });

  it('reports a normal peer close as end then close without error', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const client = await openClient(`ws://127.0.0.1:${portOf(listener)}/`);
    const recorder = new Recorder((await next()).conduit);
    client.close(1000);
    expect(await recorder.waitForClose()).toBeUndefined();
    expect(recorder.ended).toBe(true);
  });

  it('reports an abrupt peer disconnect as close with an error', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const client = await openClient(`ws://127.0.0.1:${portOf(listener)}/`);
    const recorder = new Recorder((await next()).conduit);
    client.terminate();
    const error = await recorder.waitForClose();
    expect(error).toBeInstanceOf(WebSocketClosedError);
    expect((error as WebSocketClosedError).code).toBe(1006);
    expect(recorder.ended).toBe(false);
  });

  it('closes the client on end() and destroy(error)', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const port = portOf(listener);
    const first = await openClient(`ws://127.0.0.1:${port}/`);
    const firstConduit = (await next()).conduit;
    const firstClosed = once(first, 'close');
    firstConduit.end();
    expect((await firstClosed)[0]).toBe(1000);
    expect(firstConduit.write(Buffer.from('late'))).toBe(false);

    const second = await openClient(`ws://127.0.0.1:${port}/`);
    const secondConduit = (await next()).conduit;
    const recorder = new Recorder(secondConduit);
    const secondClosed = once(second, 'close');
    secondConduit.destroy(new Error('upstream failed'));
    const [code, reason] = await secondClosed;
    expect(code).toBe(1011);
    expect(String(reason)).toBe('upstream failed');
    expect(secondConduit.closed).toBe(true);
    expect(recorder.closedWith?.error?.message).toBe('upstream failed');
  });

  it('upgrades only the configured path', async () => {
    const { listener, next, connections } = createListener({ path: '/ws' });
    await listener.start();
    const port = portOf(listener);
    const refused = new WebSocket(`ws://127.0.0.1:${port}/other`);
    cleanups.push(() => refused.terminate());
    refused.on('error', () => {});
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(404);
    expect(connections).toHaveLength(0);

    await openClient(`ws://127.0.0.1:${port}/ws?token=1`);
    expect((await next()).metadata).toMatchObject({ HTTP: { url: { path: '/ws?token=1' } } });
  });

  it('answers a plain HTTP request with 426', async () => {
    const { listener } = createListener();
    await listener.start();
    const response = await fetch(`http://127.0.0.1:${portOf(listener)}/`);
    expect(response.status).toBe(426);
  });

  it('rejects start() when the port is taken and leaves nothing bound', async () => {
    const { listener: first } = createListener();
    await first.start();
    const { listener: second } = createListener({ port: portOf(first) });
    await expect(second.start()).rejects.toThrow(ListenError);
    await expect(second.start()).rejects.toThrow(
      /WebSocket listener "ws-in": could not listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
    expect(second.address?.()).toBeUndefined();
  });

  it('binds the configured address', async () => {
    const { listener } = createListener({ address: '127.0.0.1' });
    await listener.start();
    expect(listener.address?.()).toMatchObject({ address: '127.0.0.1' });
  });

  it('refuses a spec of another protocol', () => {
    const harness = listenerContext({ protocol: 'TCP', port: 0 });
    expect(() => new WebSocketListener(harness.context, { maxPayload: 1, highWaterMark: 1 })).toThrow(
      /spec has protocol TCP/,
    );
  });

  it('closes a rejected session with an application close code carrying the status', async () => {
    const { listener, next } = createListener({}, wsTransport, {
      ok: false,
      status: 404,
      message: 'No route for session',
    });
    await listener.start();
    const client = await openClient(`ws://127.0.0.1:${portOf(listener)}/`);
    const closed = once(client, 'close');
    await next();
    const [code, reason] = await closed;
    expect(code).toBe(4404);
    expect(String(reason)).toBe('No route for session');
  });

  it('closes the connection with 1011 when accepting throws', async () => {
    const harness = listenerContext({ protocol: 'WebSocket', port: 0, address: '127.0.0.1' });
    const listener = new WebSocketListener(
      {
        ...harness.context,
        accept: async () => {
          throw new Error('engine exploded');
        },
      },
      { maxPayload: 1024, highWaterMark: 1024 },
    );
    cleanups.push(() => listener.close());
    await listener.start();
    const client = new WebSocket(`ws://127.0.0.1:${portOf(listener)}/`);
    cleanups.push(() => client.terminate());
    const [code, reason] = await once(client, 'close');
    expect(code).toBe(1011);
    expect(String(reason)).toBe('engine exploded');
  });

  it('survives an oversized message and keeps accepting', async () => {
    const { listener, next } = createListener({}, createWebSocketTransport({ maxPayload: 1024 }));
    await listener.start();
    const port = portOf(listener);
    const client = await openClient(`ws://127.0.0.1:${port}/`);
    const recorder = new Recorder((await next()).conduit);
    const closed = once(client, 'close');
    client.send(Buffer.alloc(4096));
    const error = await recorder.waitForClose();
    expect(error).toBeInstanceOf(WebSocketClosedError);
    expect(error?.message).toMatch(/Max payload size exceeded/);
    expect((await closed)[0]).toBe(1009);
    expect(recorder.chunks).toHaveLength(0);

    await openClient(`ws://127.0.0.1:${port}/`);
    expect((await next()).name).toMatch(/-1$/);
  });

  it('survives an invalid frame and keeps accepting', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const port = portOf(listener);
    const raw = connectTcp(port, '127.0.0.1');
    cleanups.push(() => {
      raw.destroy();
    });
    raw.on('error', () => {});
    await once(raw, 'connect');
    raw.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await once(raw, 'data');
    const recorder = new Recorder((await next()).conduit);
    // Opcode 0x3 is reserved, and the frame is unmasked although it comes from a client.
    raw.write(Buffer.from([0x83, 0x02, 0x41, 0x42]));
    const error = await recorder.waitForClose();
    expect(error).toBeInstanceOf(WebSocketClosedError);
    expect(error?.message).toMatch(/invalid opcode 3/);

    await openClient(`ws://127.0.0.1:${port}/`);
    expect((await next()).name).toMatch(/-1$/);
  });

  it('stops delivering while paused and resumes in order', async () => {
    const { listener, next } = createListener();
    await listener.start();
    const client = await openClient(`ws://127.0.0.1:${portOf(listener)}/`);
    const { conduit } = await next();
    const recorder = new Recorder(conduit);
    conduit.pause();
    const messages = randomMessages(20, 200);
    for (const message of messages) client.send(message);
    await quietPeriod(150);
    expect(recorder.chunks).toHaveLength(0);
    conduit.resume();
    await recorder.waitForChunks(messages.length);
    expect(recorder.chunks).toEqual(messages);
  });

  it('asks for a pause above the high-water mark and drains once the peer reads', async () => {
    const { listener, next } = createListener({}, createWebSocketTransport({ highWaterMark: 64 * 1024 }));
    await listener.start();
    const client = await openClient(`ws://127.0.0.1:${portOf(listener)}/`);
    const { conduit } = await next();
    const recorder = new Recorder(conduit);
    const rawSocket = (client as unknown as { _socket: Socket })._socket;
    rawSocket.pause();
    const message = Buffer.alloc(256 * 1024, 7);
    let writes = 0;
    while (conduit.write(message)) {
      writes++;
      if (writes > 1000) throw new Error('write never asked for a pause');
    }
    const drained = recorder.waitForDrain();
    let received = 0;
    client.on('message', () => received++);
    rawSocket.resume();
    await drained;
    expect(recorder.drains).toBe(1);
    expect(conduit.write(Buffer.from('after drain'))).toBe(true);
    await new Promise<void>((resolve) => {
      const check = (): void => (received === writes + 2 ? resolve() : void setImmediate(check));
      check();
    });
  });
});
