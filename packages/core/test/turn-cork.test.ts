import { once } from 'node:events';
import { createServer, connect, Socket, type Server } from 'node:net';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { DEFAULT_MAX_MESSAGE_SIZE, LengthPrefixedFramer, NetSocketConduit, TurnCork } from '@l7mp/core';
import { Recorder, randomMessages } from '@l7mp/core/testing';

const cleanups: (() => void)[] = [];
afterEach(() => {
  jest.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A connected TCP pair on loopback: [client side, server side]. */
async function tcpPair(): Promise<[Socket, Socket]> {
  const server: Server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => server.close());
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const address = server.address();
  const client = connect({
    port: typeof address === 'object' && address !== null ? address.port : 0,
    host: '127.0.0.1',
    allowHalfOpen: true,
  });
  await once(client, 'connect');
  const [peer] = await accepted;
  cleanups.push(
    () => client.destroy(),
    () => peer.destroy(),
  );
  return [client, peer];
}

/** How many times `socket` handed data to the kernel (`_write` or `_writev`). */
function countWrites(socket: Socket): () => number {
  const single = jest.spyOn(Socket.prototype, '_write');
  const vector = jest.spyOn(Socket.prototype, '_writev');
  return () => [...single.mock.contexts, ...vector.mock.contexts].filter((s) => s === socket).length;
}

describe('TurnCork and NetSocketConduit write batching', () => {
  it('sends the framed messages written in one turn in one socket write, intact and in order', async () => {
    const [client, peer] = await tcpPair();
    const framer = new LengthPrefixedFramer(DEFAULT_MAX_MESSAGE_SIZE);
    const sender = new NetSocketConduit(client, { framer });
    const receiver = new Recorder(new NetSocketConduit(peer, { framer }));
    new Recorder(sender);
    const writes = countWrites(client);
    const burst = randomMessages(50, 1400);
    // Above the socket's 16 KiB high-water mark a write asks for a pause; the burst still leaves whole.
    for (const message of burst) sender.write(message);
    await receiver.untilMessages(burst.length);
    expect(receiver.chunks).toEqual(burst);
    expect(writes()).toBe(1);

    // The next turn's write leaves on its own; nothing waits for more traffic.
    sender.write(Buffer.from('alone'));
    await receiver.untilMessages(burst.length + 1);
    expect(receiver.chunks.at(-1)?.toString()).toBe('alone');
    expect(writes()).toBe(2);
  });

  it('ends after the messages written in the same turn', async () => {
    const [client, peer] = await tcpPair();
    const framer = new LengthPrefixedFramer(DEFAULT_MAX_MESSAGE_SIZE);
    const sender = new NetSocketConduit(client, { framer });
    new Recorder(sender);
    const receiver = new Recorder(new NetSocketConduit(peer, { framer }));
    sender.write(Buffer.from('last'));
    sender.write(Buffer.from('words'));
    sender.end();
    await receiver.untilEnd();
    expect(receiver.chunks.map(String)).toEqual(['last', 'words']);
  });

  it('leaves an unframed byte stream uncorked: each write goes to the kernel at once', async () => {
    const [client, peer] = await tcpPair();
    const sender = new NetSocketConduit(client);
    new Recorder(sender);
    const receiver = new Recorder(new NetSocketConduit(peer));
    const writes = countWrites(client);
    sender.write(Buffer.from('one'));
    expect(client.writableCorked).toBe(0);
    sender.write(Buffer.from('two'));
    expect(writes()).toBe(2);
    await receiver.untilBytes(6);
    expect(receiver.data.toString()).toBe('onetwo');
  });

  it('releases a cork on a socket destroyed in the same turn without throwing', async () => {
    const [client] = await tcpPair();
    const cork = new TurnCork(client);
    cork.hold();
    client.write('never sent');
    client.destroy();
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(client.destroyed).toBe(true);
    expect(client.writableCorked).toBe(0);
  });
});
