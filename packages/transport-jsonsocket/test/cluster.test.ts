import { afterEach, describe, expect, it } from '@jest/globals';
import type { ClusterSpec } from '@l7mp/config';
import {
  ConnectError,
  ConnectTimeoutError,
  type ConnectRequest,
  type SessionMetadata,
  type TransportPlugin,
} from '@l7mp/core';
import { collect, makeClusterContext, makeListenerContext } from '@l7mp/core/testing';
import { buildRequestHeader, JSONSocketCluster, JSONSocketListener, type HeaderEntry } from '../src';
import { plugins, portOf, responder } from './support';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function createCluster(header?: HeaderEntry[]): JSONSocketCluster {
  const spec: ClusterSpec = {
    protocol: 'JSONSocket',
    transport: { protocol: 'WebSocket', port: 1 },
    ...(header !== undefined ? { header } : {}),
  };
  return new JSONSocketCluster(makeClusterContext(spec, { name: 'js-out', plugins }));
}

function request(
  port: number,
  metadata: SessionMetadata = {},
  overrides: Partial<ConnectRequest> = {},
): ConnectRequest {
  return {
    endpoint: { name: 'ep-1', spec: { address: '127.0.0.1', port }, weight: 1 },
    sessionName: 'UDP:127.0.0.1:5000-0.0.0.0:9001-0',
    metadata,
    timeoutMs: 2000,
    signal: new AbortController().signal,
    ...overrides,
  };
}

async function startResponder(response: unknown) {
  const server = await responder(response);
  cleanups.push(() => server.close());
  return server;
}

const ACCEPT = { JSONSocketVersion: 1, JSONSocketStatus: 200, JSONSocketMessage: 'OK' };
const metadata = { some: { nested: { meta: 'data' } }, zero: 0, flag: false };

describe('buildRequestHeader', () => {
  const none = (): void => {};
  const cases: [string, HeaderEntry[], Record<string, unknown>][] = [
    ['no entries', [], { JSONSocketVersion: 1 }],
    ['the whole metadata', [{ path: '/' }], { ...metadata, JSONSocketVersion: 1 }],
    ['a subtree merged at the root', [{ path: '/some' }], { nested: { meta: 'data' }, JSONSocketVersion: 1 }],
    [
      'from/to the same place',
      [{ path: { from: '/some', to: '/some' } }],
      { some: metadata.some, JSONSocketVersion: 1 },
    ],
    [
      'a leaf moved',
      [{ path: { from: '/some/nested/meta', to: '/nested' } }],
      { nested: 'data', JSONSocketVersion: 1 },
    ],
    ['a missing path', [{ path: { from: '/nope', to: '/x' } }], { JSONSocketVersion: 1 }],
    [
      'falsy values',
      [{ path: { from: 'zero', to: 'z' } }, { path: { from: 'flag', to: 'f' } }],
      { z: 0, f: false, JSONSocketVersion: 1 },
    ],
    [
      'set with and without slashes',
      [{ set: { key: '/a/b/', value: 1 } }, { set: { key: 'c', value: { d: [1] } } }],
      { a: { b: 1 }, c: { d: [1] }, JSONSocketVersion: 1 },
    ],
    [
      'path and set mixed',
      [{ path: '/some' }, { set: { key: '/nested/extra', value: 'x' } }],
      { nested: { meta: 'data', extra: 'x' }, JSONSocketVersion: 1 },
    ],
    ['a forced version', [{ set: { key: 'JSONSocketVersion', value: 7 } }], { JSONSocketVersion: 1 }],
  ];
  it.each(cases)('builds the header from %s', (_what, entries, expected) => {
    expect(buildRequestHeader(entries, metadata, none)).toEqual(expected);
  });

  it('reports missing paths and refuses a header that is not an object', () => {
    const missing: string[] = [];
    buildRequestHeader([{ path: '/nope' }], metadata, (path) => missing.push(path));
    expect(missing).toEqual(['/nope']);
    expect(() => buildRequestHeader([{ path: '/some/nested/meta' }], metadata, none)).toThrow(
      /not a JSON object: "data"/,
    );
  });

  it('does not share objects with the metadata', () => {
    const header = buildRequestHeader([{ path: '/some' }], metadata, none);
    (header.nested as Record<string, unknown>).meta = 'changed';
    expect(metadata.some.nested.meta).toBe('data');
  });
});

describe('JSONSocket cluster', () => {
  it('sends the built header first, consumes the response header and passes messages', async () => {
    const server = await startResponder(ACCEPT);
    const cluster = createCluster([
      { path: { from: '/some', to: '/some' } },
      { set: { key: 'token', value: 'abc' } },
    ]);
    expect(cluster.kind).toBe('datagram');
    expect(cluster.retriable).toBe(true);
    const conduit = await cluster.connect(request(server.port, metadata));
    cleanups.push(() => conduit.destroy());
    expect(server.headers).toEqual([{ some: metadata.some, token: 'abc', JSONSocketVersion: 1 }]);
    const received = collect(conduit);
    conduit.write(Buffer.from('ping'));
    conduit.write(Buffer.from('pong'));
    expect((await received.waitFor(2)).map(String)).toEqual(['ping', 'pong']);
  });

  const failures: [string, unknown, RegExp][] = [
    ['invalid JSON', '{"JSONSocketVersion":', /invalid JSON in the response header/],
    ['a non-object', '"OK"', /not a JSON object/],
    ['a missing version', { JSONSocketStatus: 200 }, /no JSONSocketVersion/],
    [
      'a string version',
      { JSONSocketVersion: '1', JSONSocketStatus: 200 },
      /unsupported JSONSocketVersion "1"/,
    ],
    ['version 2', { JSONSocketVersion: 2, JSONSocketStatus: 200 }, /unsupported JSONSocketVersion 2/],
    ['a missing status', { JSONSocketVersion: 1, Status: 200 }, /no JSONSocketStatus/],
    [
      'a string status',
      { JSONSocketVersion: 1, JSONSocketStatus: '200' },
      /JSONSocketStatus must be an integer/,
    ],
    [
      'status 199',
      { JSONSocketVersion: 1, JSONSocketStatus: 199 },
      /refused the connection with JSONSocketStatus 199/,
    ],
    [
      'status 404',
      { JSONSocketVersion: 1, JSONSocketStatus: 404, JSONSocketMessage: 'Not Found: no route' },
      /refused the connection with JSONSocketStatus 404: Not Found: no route/,
    ],
  ];
  it.each(failures)(
    'rejects a response with %s and closes the transport',
    async (_what, response, message) => {
      const server = await startResponder(response);
      const attempt = createCluster().connect(request(server.port));
      await expect(attempt).rejects.toThrow(ConnectError);
      await expect(attempt).rejects.toThrow(message);
      await expect(attempt).rejects.toThrow(/^JSONSocket cluster "js-out": endpoint "ep-1": /);
    },
  );

  it('times out when no response header arrives', async () => {
    const server = await startResponder(undefined);
    const attempt = createCluster().connect(request(server.port, {}, { timeoutMs: 150 }));
    await expect(attempt).rejects.toThrow(ConnectTimeoutError);
    await expect(attempt).rejects.toThrow(/no JSONSocket response header: connect timed out after 150 ms/);
  });

  it('gives up when aborted during the handshake', async () => {
    const server = await startResponder(undefined);
    const controller = new AbortController();
    const attempt = createCluster().connect(request(server.port, {}, { signal: controller.signal }));
    while (server.headers.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await expect(attempt).rejects.toThrow(/connect aborted during the JSONSocket handshake/);
  });

  it('rejects when the transport cannot connect', async () => {
    const server = await startResponder(ACCEPT);
    await server.close();
    await expect(createCluster().connect(request(server.port))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses a byte-stream transport', () => {
    const byteStream: TransportPlugin = {
      name: 'fake-tcp',
      clusters: [
        {
          protocol: 'TCP',
          create: () => ({
            kind: 'byte-stream',
            virtual: false,
            retriable: true,
            connect: () => Promise.reject(new Error('unused')),
          }),
        },
      ],
    };
    const context = makeClusterContext(
      { protocol: 'JSONSocket', transport: { protocol: 'TCP', port: 1 } },
      { name: 'js-out', plugins: [byteStream] },
    );
    expect(() => new JSONSocketCluster(context)).toThrow(/TCP transport is a byte stream/);
  });

  it('talks to a JSONSocket listener end to end', async () => {
    const listenerContext = makeListenerContext(
      { protocol: 'JSONSocket', transport: { protocol: 'WebSocket', port: 0, address: '127.0.0.1' } },
      undefined,
      { name: 'js-in', plugins },
    );
    const listener = new JSONSocketListener(listenerContext);
    cleanups.push(() => listener.close());
    await listener.start();
    const cluster = createCluster([{ path: '/' }]);
    const client = await cluster.connect(request(portOf(listener), { user: 'alice' }));
    cleanups.push(() => client.destroy());
    const incoming = await listenerContext.nextConnection();
    expect(incoming.metadata.JSONSocket).toEqual({ user: 'alice', JSONSocketVersion: 1 });
    const atServer = collect(incoming.conduit);
    const atClient = collect(client);
    client.write(Buffer.from('up'));
    incoming.conduit.write(Buffer.from('down'));
    expect((await atServer.waitFor(1)).map(String)).toEqual(['up']);
    expect((await atClient.waitFor(1)).map(String)).toEqual(['down']);
    client.end();
    expect(await atServer.waitForClose()).toBeUndefined();
    expect(atServer.ended).toBe(true);
  });
});
