import { afterEach, describe, expect, it } from '@jest/globals';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { startBridge, type Bridge } from './index';

const WAIT_MS = 5000;

/** A WebSocket server that echoes every message and remembers the request paths it saw. */
async function startEchoServer(): Promise<{ server: WebSocketServer; port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket, request) => {
    paths.push(request.url ?? '');
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, paths };
}

/** A UDP client bound to loopback that collects what it receives. */
async function udpClient(): Promise<{
  socket: Socket;
  received: Buffer[];
  next(count: number): Promise<Buffer[]>;
}> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  let waiter: (() => void) | undefined;
  socket.on('message', (message) => {
    received.push(message);
    waiter?.();
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    socket,
    received,
    next: (count) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`got ${received.length} of ${count} datagrams in ${WAIT_MS} ms`)),
          WAIT_MS,
        );
        const check = (): void => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiter = undefined;
          resolve(received.slice(0, count));
        };
        waiter = check;
        check();
      }),
  };
}

describe('examples/custom-app: UDP-to-WebSocket bridge', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(): Promise<{ bridge: Bridge; echo: Awaited<ReturnType<typeof startEchoServer>> }> {
    const echo = await startEchoServer();
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const client of echo.server.clients) client.terminate();
          echo.server.close(() => resolve());
        }),
    );
    const bridge = await startBridge({
      udpPort: 0,
      udpAddress: '127.0.0.1',
      upstream: `ws://127.0.0.1:${echo.port}/ingest`,
    });
    cleanups.push(() => bridge.close());
    return { bridge, echo };
  }

  async function client(): Promise<Awaited<ReturnType<typeof udpClient>>> {
    const c = await udpClient();
    cleanups.push(() => new Promise<void>((resolve) => c.socket.close(() => resolve())));
    return c;
  }

  it('carries datagrams to the WebSocket server and its answers back, one message each', async () => {
    const { bridge, echo } = await setup();
    expect(bridge.udpPort).toBeGreaterThan(0);
    const peer = await client();
    for (const text of ['first', 'second message', 'third']) {
      peer.socket.send(Buffer.from(text), bridge.udpPort, '127.0.0.1');
    }
    const answers = await peer.next(3);
    expect(answers.map((b) => b.toString())).toEqual(['first', 'second message', 'third']);
    expect(echo.paths).toEqual(['/ingest']);
  });

  it('gives each UDP peer its own WebSocket connection', async () => {
    const { bridge, echo } = await setup();
    const a = await client();
    const b = await client();
    a.socket.send(Buffer.from('from a'), bridge.udpPort, '127.0.0.1');
    b.socket.send(Buffer.from('from b'), bridge.udpPort, '127.0.0.1');
    expect((await a.next(1)).map(String)).toEqual(['from a']);
    expect((await b.next(1)).map(String)).toEqual(['from b']);
    expect(echo.paths).toHaveLength(2);
    expect(bridge.proxy.sessions()).toHaveLength(2);
  });

  it('rejects an upstream that is not a ws:// URL', async () => {
    await expect(startBridge({ udpPort: 0, upstream: 'http://127.0.0.1:1/' })).rejects.toThrow(
      'must be a ws:// URL',
    );
    await expect(startBridge({ udpPort: 0, upstream: 'not a url' })).rejects.toThrow('is not a URL');
  });

  it('refuses a config the proxy rejects, naming the field', async () => {
    // Port 0 is fine for a listener, but a WebSocket cluster needs a real remote port.
    await expect(startBridge({ udpPort: 0, upstream: 'ws://127.0.0.1:0/' })).rejects.toThrow(
      'clusters[0].spec.port: expected an integer 1-65535, got 0',
    );
  });
});
