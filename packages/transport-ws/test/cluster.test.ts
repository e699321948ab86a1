import { once } from 'node:events';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ConnectError, ConnectTimeoutError, type ConnectRequest, type SessionMetadata } from '@l7mp/core';
import { forwardedHandshake, WebSocketCluster, wsTransport } from '../src';
import { clusterContext, echoServer, freePort, randomMessages, Recorder, silentServer } from './support';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function createCluster(spec: { port?: number; path?: string; bind?: { address?: string } } = {}) {
  const factory = wsTransport.clusters?.[0];
  if (factory === undefined) throw new Error('no cluster factory');
  return factory.create(clusterContext({ protocol: 'WebSocket', port: spec.port ?? 1, ...spec }));
}

function request(
  address: string | undefined,
  port: number | undefined,
  metadata: SessionMetadata = {},
  overrides: Partial<ConnectRequest> = {},
): ConnectRequest {
  return {
    endpoint:
      address === undefined
        ? undefined
        : { name: 'ep-1', spec: { address, ...(port !== undefined ? { port } : {}) }, weight: 1 },
    sessionName: 'UDP:127.0.0.1:5000-0.0.0.0:9001-0',
    metadata,
    timeoutMs: 2000,
    signal: new AbortController().signal,
    ...overrides,
  };
}

describe('WebSocket cluster', () => {
  it('connects for a session without HTTP metadata and echoes messages with boundaries', async () => {
    const server = await echoServer(cleanups);
    const cluster = createCluster({ port: server.port });
    expect(cluster.kind).toBe('datagram');
    expect(cluster.retriable).toBe(true);
    expect(cluster.virtual).toBe(false);
    const conduit = await cluster.connect(
      request('127.0.0.1', undefined, { IP: { src_addr: '127.0.0.1' }, UDP: { src_port: 5000 } }),
    );
    cleanups.push(() => conduit.destroy());
    const recorder = new Recorder(conduit);
    const messages = randomMessages(100, 1400);
    for (const message of messages) conduit.write(message);
    await recorder.waitForChunks(messages.length);
    expect(recorder.chunks).toEqual(messages);
    expect(server.upgrades[0]?.url).toBe('/');
  });

  it('passes headers and subprotocols from HTTP metadata but always connects to the endpoint', async () => {
    const server = await echoServer(cleanups);
    const cluster = createCluster({ port: 1 });
    const metadata: SessionMetadata = {
      HTTP: {
        version: '1.1',
        method: 'GET',
        url: { host: 'elsewhere.invalid', port: '9', path: '/chat?room=1' },
        headers: {
          host: 'elsewhere.invalid',
          'x-trace-id': 'abc123',
          cookie: ['a=1', 'b=2'],
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': 'c29tZSBvdGhlciBrZXkhIQ==',
          'sec-websocket-version': '13',
          'sec-websocket-extensions': 'permessage-deflate',
          'sec-websocket-protocol': 'chat, superchat',
        },
      },
    };
    const conduit = await cluster.connect(request('127.0.0.1', server.port, metadata));
    cleanups.push(() => conduit.destroy());
    const upgrade = server.upgrades[0];
    expect(upgrade?.url).toBe('/chat?room=1');
    expect(upgrade?.headers['x-trace-id']).toBe('abc123');
    expect(upgrade?.headers.cookie).toBe('a=1; b=2');
    expect(upgrade?.headers.host).toBe(`127.0.0.1:${server.port}`);
    expect(upgrade?.headers['sec-websocket-protocol']).toBe('chat,superchat');
    expect(upgrade?.headers['sec-websocket-key']).not.toBe('c29tZSBvdGhlciBrZXkhIQ==');
    expect(upgrade?.headers['sec-websocket-extensions']).toBeUndefined();
    expect(server.sockets[0]?.protocol).toBe('chat');
  });

  it('uses the spec path over the metadata path', async () => {
    const server = await echoServer(cleanups);
    const cluster = createCluster({ port: server.port, path: '/upstream' });
    const conduit = await cluster.connect(
      request('127.0.0.1', undefined, { HTTP: { url: { path: '/client' } } }),
    );
    cleanups.push(() => conduit.destroy());
    expect(server.upgrades[0]?.url).toBe('/upstream');
  });

  it('binds the local address and connects to IPv6 endpoints', async () => {
    const server = await echoServer(cleanups, '::1');
    const cluster = createCluster({ port: server.port, bind: { address: '::1' } });
    const conduit = await cluster.connect(request('::1', undefined));
    cleanups.push(() => conduit.destroy());
    expect(server.upgrades[0]?.socket.remoteAddress).toBe('::1');
    expect(server.upgrades[0]?.headers.host).toBe(`[::1]:${server.port}`);
  });

  it('reports the peer closing the connection', async () => {
    const server = await echoServer(cleanups);
    const cluster = createCluster({ port: server.port });
    const conduit = await cluster.connect(request('127.0.0.1', undefined));
    const recorder = new Recorder(conduit);
    server.sockets[0]?.close(1000);
    expect(await recorder.waitForClose()).toBeUndefined();
    expect(recorder.ended).toBe(true);
  });

  it('rejects a refused connection with ConnectError', async () => {
    const port = await freePort();
    const cluster = createCluster({ port });
    const attempt = cluster.connect(request('127.0.0.1', undefined));
    await expect(attempt).rejects.toThrow(ConnectError);
    await expect(attempt).rejects.toThrow(
      /WebSocket cluster "ws-out": endpoint "ep-1" \(ws:\/\/127\.0\.0\.1:\d+\/\): .*ECONNREFUSED/,
    );
  });

  it('rejects a non-101 answer with the HTTP status', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(403);
      response.end('go away');
    });
    server.on('upgrade', (_request, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => {
      server.closeAllConnections();
      server.close();
    });
    const address = server.address();
    const port = address !== null && typeof address === 'object' ? address.port : 0;
    const attempt = createCluster({ port }).connect(request('127.0.0.1', undefined));
    await expect(attempt).rejects.toThrow(/answered the upgrade with HTTP 403/);
  });

  it('times out a handshake that never completes', async () => {
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    const started = Date.now();
    const attempt = createCluster({ port: silent.port }).connect(
      request('127.0.0.1', undefined, {}, { timeoutMs: 150 }),
    );
    await expect(attempt).rejects.toThrow(ConnectTimeoutError);
    await expect(attempt).rejects.toThrow(/connect timed out after 150 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('gives up when the request is aborted', async () => {
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    const controller = new AbortController();
    const attempt = createCluster({ port: silent.port }).connect(
      request('127.0.0.1', undefined, {}, { signal: controller.signal }),
    );
    controller.abort();
    await expect(attempt).rejects.toThrow(/connect aborted/);

    const aborted = new AbortController();
    aborted.abort();
    await expect(
      createCluster({ port: silent.port }).connect(
        request('127.0.0.1', undefined, {}, { signal: aborted.signal }),
      ),
    ).rejects.toThrow(/connect aborted/);
  });

  it('rejects requests without an endpoint or address', async () => {
    const cluster = createCluster();
    await expect(cluster.connect(request(undefined, undefined))).rejects.toThrow(/no endpoint to connect to/);
    await expect(
      cluster.connect({ ...request('x', 1), endpoint: { name: 'ep', spec: {}, weight: 1 } }),
    ).rejects.toThrow(/endpoint "ep": the endpoint has no address/);
  });

  it('rejects invalid subprotocols from metadata instead of throwing', async () => {
    const cluster = createCluster({ port: 1 });
    await expect(
      cluster.connect(
        request('127.0.0.1', undefined, { HTTP: { headers: { 'sec-websocket-protocol': 'a, a' } } }),
      ),
    ).rejects.toThrow(/invalid or duplicated subprotocol/);
  });

  it('refuses a spec of another protocol', () => {
    expect(
      () =>
        new WebSocketCluster(clusterContext({ protocol: 'UDP', port: 1 }), {
          maxPayload: 1,
          highWaterMark: 1,
        }),
    ).toThrow(/spec has protocol UDP/);
  });
});

describe('forwardedHandshake', () => {
  it('returns nothing for metadata without HTTP or with malformed headers', () => {
    expect(forwardedHandshake({})).toEqual({ headers: {}, protocols: [] });
    expect(forwardedHandshake({ HTTP: 'oops' })).toEqual({ headers: {}, protocols: [] });
    expect(forwardedHandshake({ HTTP: { headers: { 'x-ok': 'y', 'x-bad': { nested: 1 } } } })).toEqual({
      headers: { 'x-ok': 'y' },
      protocols: [],
    });
  });
});
