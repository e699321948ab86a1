import { once } from 'node:events';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Conduit } from '@l7mp/core';
import { WebSocket } from 'ws';
import { wsTransport } from '../src';
import { clusterContext, echoServer, listenerContext, randomMessages, Recorder } from './support';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  jest.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Counts the writes that reach the TCP layer (one `_write` or `_writev` each, i.e. one system
 * call when the kernel takes it all) made by the sockets `which` picks.
 */
function countSocketWrites(which: (socket: Socket) => boolean): () => number {
  const single = jest.spyOn(Socket.prototype, '_write');
  const vector = jest.spyOn(Socket.prototype, '_writev');
  return () =>
    [...single.mock.contexts, ...vector.mock.contexts].filter((socket) => which(socket as Socket)).length;
}

/** A started WebSocket listener, a ws client connected to it, and the session's conduit. */
async function listenerSession(): Promise<{ port: number; client: WebSocket; conduit: Conduit }> {
  const { context, next } = listenerContext({ protocol: 'WebSocket', port: 0, address: '127.0.0.1' });
  const listener = wsTransport.listeners![0]!.create(context);
  cleanups.push(() => listener.close());
  await listener.start();
  const port = (listener.address?.() as { port: number }).port;
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  cleanups.push(() => client.terminate());
  await once(client, 'open');
  const { conduit } = await next();
  return { port, client, conduit };
}

describe('WebSocket write batching', () => {
  it('sends the messages a cluster conduit writes in one event-loop turn in one socket write', async () => {
    const { port } = await echoServer(cleanups);
    const cluster = wsTransport.clusters![0]!.create(clusterContext({ protocol: 'WebSocket', port }));
    const conduit = await cluster.connect({
      endpoint: { name: 'ep', spec: { address: '127.0.0.1' }, weight: 1 },
      sessionName: 's',
      metadata: {},
      timeoutMs: 2000,
      signal: new AbortController().signal,
    });
    cleanups.push(() => conduit.destroy());
    const recorder = new Recorder(conduit);
    const writes = countSocketWrites((socket) => socket.remotePort === port);
    const burst = randomMessages(50, 1200);
    for (const message of burst) expect(conduit.write(message)).toBe(true);
    await recorder.waitForChunks(burst.length);
    expect(recorder.chunks).toEqual(burst);
    expect(writes()).toBe(1);

    // A later turn starts a new batch: nothing waits for more traffic.
    const single = Buffer.from('alone');
    conduit.write(single);
    await recorder.waitForChunks(burst.length + 1);
    expect(recorder.chunks.at(-1)).toEqual(single);
    expect(writes()).toBe(2);
  });

  it('sends the messages a listener conduit writes in one turn in one socket write', async () => {
    const { port, client, conduit } = await listenerSession();
    const received: Buffer[] = [];
    const burst = randomMessages(50, 1200);
    const all = new Promise<void>((resolve) =>
      client.on('message', (data: Buffer) => {
        received.push(data);
        if (received.length === burst.length) resolve();
      }),
    );
    const writes = countSocketWrites((socket) => socket.localPort === port);
    for (const message of burst) conduit.write(message);
    await all;
    expect(received).toEqual(burst);
    expect(writes()).toBe(1);
  });

  it('closes normally after the messages written in the same turn, which all arrive', async () => {
    const { client, conduit } = await listenerSession();
    const received: Buffer[] = [];
    client.on('message', (data: Buffer) => received.push(data));
    const closed = once(client, 'close');
    const burst = randomMessages(20, 1200);
    for (const message of burst) conduit.write(message);
    conduit.end();
    const [code] = (await closed) as [number];
    expect(code).toBe(1000);
    expect(received).toEqual(burst);
  });
});
