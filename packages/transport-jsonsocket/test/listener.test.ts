import { afterEach, describe, expect, it } from '@jest/globals';
import type { ListenerSpec } from '@l7mp/config';
import type { AcceptResult, IncomingConnection, ListenerTransport, TransportPlugin } from '@l7mp/core';
import { collect, makeListenerContext } from '@l7mp/core/testing';
import { JSONSocketListener, JSONSocketTransportError } from '../src';
import { openClient, plugins, portOf, type Client } from './support';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function spec(headerTimeout?: number): ListenerSpec {
  return {
    protocol: 'JSONSocket',
    transport: { protocol: 'WebSocket', port: 0, address: '127.0.0.1' },
    ...(headerTimeout !== undefined ? { header_timeout: headerTimeout } : {}),
  };
}

async function startListener(
  options: {
    headerTimeout?: number;
    accept?: (connection: IncomingConnection) => AcceptResult | Promise<AcceptResult>;
    plugins?: readonly TransportPlugin[];
  } = {},
) {
  const context = makeListenerContext(spec(options.headerTimeout), options.accept, {
    name: 'js',
    plugins: options.plugins ?? plugins,
  });
  const listener: ListenerTransport = new JSONSocketListener(context);
  cleanups.push(() => listener.close());
  await listener.start();
  return { listener, context };
}

async function client(listener: ListenerTransport): Promise<Client> {
  const opened = await openClient(portOf(listener));
  cleanups.push(() => opened.ws.terminate());
  return opened;
}

const OK = { JSONSocketVersion: 1, JSONSocketStatus: 200, JSONSocketMessage: 'OK' };

describe('JSONSocket listener', () => {
  it('accepts a valid header, answers 200 and then passes messages both ways', async () => {
    const { listener, context } = await startListener();
    expect(listener.kind).toBe('datagram');
    const peer = await client(listener);
    const header = { JSONSocketVersion: 1, some: { nested: { meta: 'data' } } };
    peer.ws.send(JSON.stringify(header));
    const connection = await context.nextConnection();
    expect(connection.name).toBe('JSONSocket:js-0');
    expect(connection.metadata).toMatchObject({
      IP: { src_addr: '127.0.0.1', dst_addr: '127.0.0.1' },
      TCP: { dst_port: portOf(listener) },
      HTTP: { method: 'GET' },
      JSONSocket: header,
    });
    expect(JSON.parse((await peer.next(1))[0] ?? '')).toEqual(OK);

    const atServer = collect(connection.conduit);
    peer.ws.send('from client');
    expect((await atServer.waitFor(1)).map(String)).toEqual(['from client']);
    connection.conduit.write(Buffer.from('from server'));
    expect((await peer.next(2))[1]).toBe('from server');

    const second = await client(listener);
    second.ws.send(JSON.stringify({ JSONSocketVersion: 1 }));
    expect((await context.nextConnection()).name).toBe('JSONSocket:js-1');
  });

  it('never lets session data precede the 200 header', async () => {
    const { listener } = await startListener({
      accept: (connection) => {
        // Upstream data that arrives while the session is still being set up.
        connection.conduit.write(Buffer.from('early 1'));
        connection.conduit.write(Buffer.from('early 2'));
        return { ok: true, status: 200, message: 'OK' };
      },
    });
    const peer = await client(listener);
    peer.ws.send(JSON.stringify({ JSONSocketVersion: 1 }));
    const [first, second, third] = await peer.next(3);
    expect(JSON.parse(first ?? '')).toEqual(OK);
    expect([second, third]).toEqual(['early 1', 'early 2']);
  });

  it('delivers client messages sent right after the header, in order', async () => {
    const { listener, context } = await startListener();
    const peer = await client(listener);
    peer.ws.send(JSON.stringify({ JSONSocketVersion: 1 }));
    peer.ws.send('one');
    peer.ws.send('two');
    const connection = await context.nextConnection();
    const atServer = collect(connection.conduit);
    expect((await atServer.waitFor(2)).map(String)).toEqual(['one', 'two']);
  });

  const refusals: [string, string, number, RegExp][] = [
    ['invalid JSON', '{"JSONSocketVersion": 1', 400, /^Bad Request: Invalid JSON header$/],
    ['a non-object header', '[1]', 400, /^Bad Request: the header must be a JSON object/],
    ['a missing version', '{"some": "thing"}', 400, /^Bad Request: the header has no JSONSocketVersion$/],
    ['a string version', '{"JSONSocketVersion": "a"}', 400, /JSONSocketVersion must be an integer, got "a"/],
    [
      'a fractional version',
      '{"JSONSocketVersion": 0.4}',
      400,
      /JSONSocketVersion must be an integer, got 0.4/,
    ],
    ['version 0', '{"JSONSocketVersion": 0}', 505, /JSONSocketVersion 0 is not supported/],
    ['version 2', '{"JSONSocketVersion": 2}', 505, /JSONSocketVersion 2 is not supported/],
  ];
  it.each(refusals)('refuses %s with an error header and closes', async (_what, header, status, message) => {
    const { listener, context } = await startListener();
    const peer = await client(listener);
    peer.ws.send(header);
    const [reply] = await peer.next(1);
    const parsed = JSON.parse(reply ?? '') as Record<string, unknown>;
    expect(parsed).toMatchObject({ JSONSocketVersion: 1, JSONSocketStatus: status });
    expect(parsed.JSONSocketMessage).toMatch(message);
    await peer.closed;
    expect(context.connections).toHaveLength(0);
  });

  it('answers 408 and closes when no header arrives in time', async () => {
    const { listener, context } = await startListener({ headerTimeout: 100 });
    const peer = await client(listener);
    const started = Date.now();
    const [reply] = await peer.next(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(JSON.parse(reply ?? '')).toMatchObject({
      JSONSocketVersion: 1,
      JSONSocketStatus: 408,
      JSONSocketMessage: 'Request Timeout: no JSONSocket header within 100 ms',
    });
    await peer.closed;
    expect(context.connections).toHaveLength(0);
  });

  it('reports a routing failure in the header, without data written before it', async () => {
    const { listener } = await startListener({
      accept: (connection) => {
        connection.conduit.write(Buffer.from('must not be sent'));
        return {
          ok: false,
          status: 404,
          message: 'Not Found',
          content: 'No route for session "JSONSocket:js-0"',
        };
      },
    });
    const peer = await client(listener);
    peer.ws.send(JSON.stringify({ JSONSocketVersion: 1 }));
    const [reply] = await peer.next(1);
    expect(JSON.parse(reply ?? '')).toEqual({
      JSONSocketVersion: 1,
      JSONSocketStatus: 404,
      JSONSocketMessage: 'Not Found: No route for session "JSONSocket:js-0"',
    });
    await peer.closed;
    expect(peer.messages).toHaveLength(1);
  });

  it('still delivers the error header when the session is destroyed right after reject()', async () => {
    const { listener } = await startListener({
      accept: (connection) => {
        const result = { ok: false, status: 503, message: 'Pipeline setup failed' };
        // What the engine does on a setup failure: answer, then tear the source down.
        connection.reject?.(result);
        connection.conduit.destroy(new Error('setup failed'));
        return result;
      },
    });
    const peer = await client(listener);
    peer.ws.send(JSON.stringify({ JSONSocketVersion: 1 }));
    const [reply] = await peer.next(1);
    expect(JSON.parse(reply ?? '')).toMatchObject({
      JSONSocketStatus: 503,
      JSONSocketMessage: 'Pipeline setup failed',
    });
    await peer.closed;
  });

  it('answers 500 when accepting throws', async () => {
    const { listener } = await startListener({
      accept: () => {
        throw new Error('engine exploded');
      },
    });
    const peer = await client(listener);
    peer.ws.send(JSON.stringify({ JSONSocketVersion: 1 }));
    const [reply] = await peer.next(1);
    expect(JSON.parse(reply ?? '')).toEqual({
      JSONSocketVersion: 1,
      JSONSocketStatus: 500,
      JSONSocketMessage: 'Internal Server Error: engine exploded',
    });
  });

  it('forgets a connection that closes before its header', async () => {
    const { listener, context } = await startListener();
    const peer = await client(listener);
    peer.ws.close();
    await peer.closed;
    const second = await client(listener);
    second.ws.send(JSON.stringify({ JSONSocketVersion: 1 }));
    await context.nextConnection();
    expect(context.connections).toHaveLength(1);
  });

  it('rejects a byte-stream transport at start()', async () => {
    let started = false;
    const byteStream: TransportPlugin = {
      name: 'fake-tcp',
      listeners: [
        {
          protocol: 'TCP',
          create: () => ({
            kind: 'byte-stream',
            start: async () => {
              started = true;
            },
            close: async () => {},
          }),
        },
      ],
    };
    const context = makeListenerContext(
      { protocol: 'JSONSocket', transport: { protocol: 'TCP', port: 0 } },
      undefined,
      { name: 'js', plugins: [byteStream] },
    );
    const listener = new JSONSocketListener(context);
    await expect(listener.start()).rejects.toThrow(JSONSocketTransportError);
    await expect(listener.start()).rejects.toThrow(
      /TCP transport is a byte stream.*needs message boundaries/,
    );
    expect(started).toBe(false);
  });

  it('rejects a transport nobody provides, and a failed inner start', async () => {
    const missing = new JSONSocketListener(
      makeListenerContext(spec(), undefined, { name: 'js', plugins: [] }),
    );
    await expect(missing.start()).rejects.toThrow(/cannot create the WebSocket transport/);

    const { listener: first } = await startListener();
    const taken = new JSONSocketListener(
      makeListenerContext(
        {
          protocol: 'JSONSocket',
          transport: { protocol: 'WebSocket', port: portOf(first), address: '127.0.0.1' },
        },
        undefined,
        { name: 'js2', plugins },
      ),
    );
    await expect(taken.start()).rejects.toThrow(/EADDRINUSE/);
    expect(taken.address()).toBeUndefined();
  });
});
