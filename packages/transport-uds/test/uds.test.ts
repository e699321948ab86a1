import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterSpec } from '@l7mp/config';
import { type Conduit, ConnectError, ConnectTimeoutError, type ListenerTransport } from '@l7mp/core';
import { DgramSocket } from 'node-unix-socket';
import { createUdsListener, UdsCluster, UdsListenError, udsTransport } from '@l7mp/transport-uds';
import { connectWithDeadline } from '../src/deadline';
import {
  AcceptQueue,
  clusterContext,
  randomMessages,
  Recorder,
  writeWithBackpressure,
} from '@l7mp/core/testing';

type Mode = 'stream' | 'seqpacket' | 'dgram';
type Framing = 'length-prefixed' | 'newline';

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'l7mp-uds-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function track<T extends Conduit>(conduit: T): T {
  cleanups.push(() => conduit.destroy());
  return conduit;
}

function listenerFor(path: string, mode: Mode, framing?: Framing, accepted = new AcceptQueue()) {
  const listener = createUdsListener(
    accepted.context('uds-in', {
      protocol: 'UnixDomainSocket',
      filename: path,
      mode,
      ...(framing ? { framing } : {}),
    }),
  );
  return { listener, accepted };
}

async function startListener(mode: Mode, framing?: Framing) {
  const path = join(dir, `${mode}.sock`);
  const { listener, accepted } = listenerFor(path, mode, framing);
  await listener.start();
  cleanups.push(() => listener.close());
  return { listener, accepted, path };
}

function cluster(
  mode: Mode,
  framing?: Framing,
  extra: Partial<Extract<ClusterSpec, { protocol: 'UnixDomainSocket' }>> = {},
) {
  return new UdsCluster(
    clusterContext('uds-out', {
      protocol: 'UnixDomainSocket',
      mode,
      ...(framing ? { framing } : {}),
      ...extra,
    }),
  );
}

function request(path: string | undefined, options: { signal?: AbortSignal; timeoutMs?: number } = {}) {
  return {
    endpoint: { name: 'ep-1', spec: path === undefined ? {} : { address: path }, weight: 1 },
    sessionName: 's',
    metadata: {},
    timeoutMs: options.timeoutMs ?? 2000,
    signal: options.signal ?? new AbortController().signal,
  };
}

async function connectedPair(mode: Mode, framing?: Framing) {
  const started = await startListener(mode, framing);
  const client = new Recorder(track(await cluster(mode, framing).connect(request(started.path))));
  // A dgram listener learns about its peer from the first datagram only.
  if (mode === 'dgram') client.conduit.write(Buffer.from('hello'));
  const incoming = await started.accepted.next(0);
  const server = new Recorder(track(incoming.conduit));
  if (mode === 'dgram') {
    await server.untilMessages(1);
    server.chunks.length = 0;
  }
  return { ...started, client, server, incoming };
}

/** A socket file nobody is bound to, as left behind by a crashed process. */
function staleSocketFile(path: string): void {
  const socket = new DgramSocket();
  socket.bind(path);
  socket.close();
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const asText = (messages: Buffer[]) => messages.map((m) => m.toString('latin1'));

describe('udsTransport plugin', () => {
  it('registers a UnixDomainSocket listener and cluster', () => {
    expect(udsTransport.listeners?.map((f) => f.protocol)).toEqual(['UnixDomainSocket']);
    expect(udsTransport.clusters?.map((f) => f.protocol)).toEqual(['UnixDomainSocket']);
  });

  it('reports the stream kind of each mode', () => {
    expect(cluster('stream').kind).toBe('byte-stream');
    expect(cluster('stream', 'newline').kind).toBe('datagram');
    expect(cluster('seqpacket').kind).toBe('datagram');
    expect(cluster('dgram').kind).toBe('datagram');
    expect(listenerFor('/x', 'stream').listener.kind).toBe('byte-stream');
    expect(listenerFor('/x', 'stream', 'length-prefixed').listener.kind).toBe('datagram');
    expect(listenerFor('/x', 'seqpacket').listener.kind).toBe('datagram');
    expect(listenerFor('/x', 'dgram').listener.kind).toBe('datagram');
  });

  it('rejects a spec of another protocol', () => {
    expect(() => new UdsCluster(clusterContext('c', { protocol: 'TCP', port: 1 }))).toThrow(
      /given a TCP spec/,
    );
    const accepted = new AcceptQueue();
    expect(() => createUdsListener(accepted.context('l', { protocol: 'TCP', port: 1 }))).toThrow(
      /given a TCP spec/,
    );
  });
});

describe.each(['stream', 'seqpacket', 'dgram'] as const)('UnixDomainSocket %s mode', (mode) => {
  it('carries data both ways and names the session after the listener', async () => {
    const { client, server, incoming, path } = await connectedPair(mode);
    client.conduit.write(Buffer.from('ping'));
    await server.untilBytes(4);
    server.conduit.write(Buffer.from('pong!'));
    await client.untilBytes(5);
    expect(server.data.toString()).toBe('ping');
    expect(client.data.toString()).toBe('pong!');
    expect(incoming.name).toBe('UNIX:uds-in-0');
    expect(incoming.metadata).toEqual({ UNIX: { filename: path } });
  });

  it('reuses a stale socket file', async () => {
    const path = join(dir, 'stale.sock');
    staleSocketFile(path);
    expect(existsSync(path)).toBe(true);
    const { listener } = listenerFor(path, mode);
    await listener.start();
    cleanups.push(() => listener.close());
    expect(listener.address?.()).toEqual({ path });
    track(await cluster(mode).connect(request(path)));
  });

  it('refuses a path another socket is bound to, and leaves it alone', async () => {
    const { path } = await startListener(mode);
    const { listener } = listenerFor(path, mode);
    await expect(listener.start()).rejects.toBeInstanceOf(UdsListenError);
    await expect(listener.start()).rejects.toThrow(`address in use: another socket is bound to ${path}`);
    expect(listener.address?.()).toBeUndefined();
    expect(existsSync(path)).toBe(true);
    track(await cluster(mode).connect(request(path)));
  });

  it('refuses a path that is not a socket and does not delete it', async () => {
    const path = join(dir, 'precious.txt');
    writeFileSync(path, 'keep me');
    const { listener } = listenerFor(path, mode);
    await expect(listener.start()).rejects.toThrow(
      `${path} exists and is not a socket; refusing to replace it`,
    );
    expect(readFileSync(path, 'utf8')).toBe('keep me');
  });

  it('removes the socket file on close', async () => {
    const { listener, path } = await startListener(mode);
    expect(existsSync(path)).toBe(true);
    await listener.close();
    expect(existsSync(path)).toBe(false);
    expect(listener.address?.()).toBeUndefined();
    await expect(cluster(mode).connect(request(path))).rejects.toBeInstanceOf(ConnectError);
  });

  it('reports a missing socket as a connect error naming the endpoint and path', async () => {
    const path = join(dir, 'nobody.sock');
    await expect(cluster(mode).connect(request(path))).rejects.toThrow(
      new RegExp(
        `UnixDomainSocket cluster "uds-out": endpoint "ep-1" \\(${path.replace(/[.]/g, '\\.')}\\): \\S`,
      ),
    );
  });

  it('falls back to the cluster filename when the endpoint gives no address', async () => {
    const { path } = await startListener(mode);
    const conduit = track(await cluster(mode, undefined, { filename: path }).connect(request(undefined)));
    expect(conduit.closed).toBe(false);
  });
});

describe.each([
  ['seqpacket', undefined],
  ['dgram', undefined],
  ['stream', 'length-prefixed'],
  ['stream', 'newline'],
] as const)('UnixDomainSocket %s mode (framing %s) keeps message boundaries', (mode, framing) => {
  it('delivers 200 messages of random sizes whole and in order, both ways', async () => {
    const { client, server } = await connectedPair(mode, framing);
    const up = randomMessages(200);
    const down = randomMessages(200);
    // A Unix dgram receiver queues at most net.unix.max_dgram_qlen (10) datagrams, and
    // node-unix-socket cannot recover from a blocked send, so dgram traffic goes in small batches.
    const batch = mode === 'dgram' ? 5 : 200;
    for (let i = 0; i < 200; i += batch) {
      for (const message of up.slice(i, i + batch)) client.conduit.write(message);
      for (const message of down.slice(i, i + batch)) server.conduit.write(message);
      await Promise.all([server.untilMessages(i + batch), client.untilMessages(i + batch)]);
    }
    expect(asText(server.chunks)).toEqual(asText(up));
    expect(asText(client.chunks)).toEqual(asText(down));
  });
});

describe('UnixDomainSocket stream mode', () => {
  it('supports half-close', async () => {
    const { client, server } = await connectedPair('stream');
    client.conduit.write(Buffer.from('bye'));
    client.conduit.end();
    await server.untilEnd();
    expect(server.data.toString()).toBe('bye');
    server.conduit.write(Buffer.from('late reply'));
    await client.untilBytes(10);
    server.conduit.end();
    await Promise.all([client.untilClose(), server.untilClose()]);
    expect(client.closeError).toBeUndefined();
  });

  it('delivers a large volume intact under backpressure', async () => {
    const { client, server } = await connectedPair('stream');
    const payload = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
    server.conduit.pause();
    const writing = writeWithBackpressure(client, payload, 64 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.conduit.resume();
    expect(await writing).toBeGreaterThan(0);
    await server.untilBytes(payload.length);
    expect(sha(server.data)).toBe(sha(payload));
  });

  it('reports the peer closing', async () => {
    const { client, server } = await connectedPair('stream');
    client.conduit.destroy();
    await server.untilEnd();
    server.conduit.end();
    await server.untilClose();
  });
});

describe('UnixDomainSocket seqpacket mode', () => {
  it('reports the peer closing', async () => {
    const { client, server } = await connectedPair('seqpacket');
    client.conduit.destroy();
    await server.until(() => server.ended || server.closed, 'end or close');
    server.conduit.end();
    await server.untilClose();
  });

  it('supports half-close', async () => {
    const { client, server } = await connectedPair('seqpacket');
    client.conduit.write(Buffer.from('last'));
    client.conduit.end();
    await server.untilEnd();
    expect(server.closed).toBe(false);
    server.conduit.write(Buffer.from('answer'));
    await client.untilMessages(1);
    expect(client.chunks[0]?.toString()).toBe('answer');
    server.conduit.end();
    await Promise.all([client.untilClose(), server.untilClose()]);
  });

  it('signals backpressure and delivers every message of a large burst', async () => {
    const { client, server } = await connectedPair('seqpacket');
    const count = 2000;
    const message = Buffer.alloc(16 * 1024, 7);
    let refusals = 0;
    for (let i = 0; i < count; i++) {
      message.writeUInt32BE(i, 0);
      if (!client.conduit.write(Buffer.from(message))) {
        refusals++;
        const drains = client.drains;
        await client.until(() => client.drains > drains, 'drain');
      }
    }
    await server.untilMessages(count);
    expect(refusals).toBeGreaterThan(0);
    expect(server.chunks.map((m) => m.readUInt32BE(0))).toEqual([...Array(count).keys()]);
  });
});

describe('UnixDomainSocket dgram mode', () => {
  it('keeps one session per peer path', async () => {
    const { accepted, path } = await startListener('dgram');
    const uds = cluster('dgram');
    const first = new Recorder(track(await uds.connect(request(path))));
    const second = new Recorder(track(await uds.connect(request(path))));
    for (let i = 0; i < 5; i++) first.conduit.write(Buffer.from(`a${i}`));
    second.conduit.write(Buffer.from('b0'));
    const sessionA = new Recorder(track((await accepted.next(0)).conduit));
    const sessionB = new Recorder(track((await accepted.next(1)).conduit));
    await Promise.all([sessionA.untilMessages(5), sessionB.untilMessages(1)]);
    expect(accepted.connections).toHaveLength(2);
    expect(asText(sessionA.chunks)).toEqual([...Array(5).keys()].map((i) => `a${i}`));
    sessionB.conduit.write(Buffer.from('to b'));
    await second.untilMessages(1);
    expect(second.chunks[0]?.toString()).toBe('to b');
    expect(first.chunks).toHaveLength(0);
  });

  it('binds a private client path next to the server and removes it on close', async () => {
    const { client, path } = await connectedPair('dgram');
    const privateFiles = () => readdirSync(dir).filter((name) => name.startsWith('.l7mp-'));
    expect(privateFiles()).toHaveLength(1);
    client.conduit.destroy();
    expect(privateFiles()).toHaveLength(0);
    expect(existsSync(path)).toBe(true);
  });

  it('releases the client after end once its datagrams are sent', async () => {
    const { client, server } = await connectedPair('dgram');
    client.conduit.write(Buffer.from('final'));
    client.conduit.end();
    await client.untilClose();
    await server.untilMessages(1);
    expect(server.chunks[0]?.toString()).toBe('final');
  });

  it('closes a server session with an error when its peer socket is gone', async () => {
    const { client, server } = await connectedPair('dgram');
    client.conduit.destroy();
    server.conduit.write(Buffer.from('anyone?'));
    await server.untilClose();
    expect(server.closeError?.message).toMatch(/send to .*\.l7mp-.*failed/);
  });

  it('closes a client whose send was blocked by a full server queue, with the reason', async () => {
    const { client } = await connectedPair('dgram');
    // More datagrams than a Unix dgram receive queue holds, before the server can read any.
    for (let i = 0; i < 40 && !client.closed; i++) client.conduit.write(Buffer.from(`burst ${i}`));
    await client.untilClose();
    expect(client.closeError?.message).toMatch(/did not keep up .*node-unix-socket limitation/);
  });

  it('drops datagrams from a socket with no path to reply to', async () => {
    const { accepted, path } = await startListener('dgram');
    const unbound = new DgramSocket();
    cleanups.push(() => unbound.close());
    await new Promise<void>((resolve, reject) =>
      unbound.sendTo(Buffer.from('anonymous'), 0, 9, path, (error) => (error ? reject(error) : resolve())),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(accepted.connections).toHaveLength(0);
  });

  it('keeps serving live sessions after close until they end, accepting no new peers', async () => {
    const { listener, client, server, accepted, path } = await connectedPair('dgram');
    await listener.close();
    expect(existsSync(path)).toBe(false);
    server.conduit.write(Buffer.from('still answering'));
    await client.untilMessages(1);
    await expect(cluster('dgram').connect(request(path))).rejects.toThrow(/no socket file/);
    server.conduit.destroy();
    expect(accepted.connections).toHaveLength(1);
  });

  it('refuses to connect to a stream socket or a stale file', async () => {
    const { path } = await startListener('stream');
    await expect(cluster('dgram').connect(request(path))).rejects.toThrow(
      /a stream socket listens on this path/,
    );
    const stale = join(dir, 'stale.sock');
    staleSocketFile(stale);
    await expect(cluster('dgram').connect(request(stale))).rejects.toThrow(/stale socket file/);
  });
});

describe('UnixDomainSocket connect deadline', () => {
  it('times out and abandons the attempt', async () => {
    let abandoned = false;
    const failure = connectWithDeadline('attempt', request('/nowhere', { timeoutMs: 30 }), () => () => {
      abandoned = true;
    });
    await expect(failure).rejects.toBeInstanceOf(ConnectTimeoutError);
    await expect(failure).rejects.toThrow('attempt: connect timed out after 30 ms');
    expect(abandoned).toBe(true);
  });

  it('gives up when aborted, before or during the attempt', async () => {
    const controller = new AbortController();
    let abandoned = false;
    const failure = connectWithDeadline('attempt', request('/x', { signal: controller.signal }), () => () => {
      abandoned = true;
    });
    controller.abort();
    await expect(failure).rejects.toThrow('attempt: connect aborted');
    expect(abandoned).toBe(true);
    await expect(cluster('stream').connect(request('/x', { signal: controller.signal }))).rejects.toThrow(
      /connect aborted/,
    );
  });

  it('closes a connection that arrives after the deadline', async () => {
    const { path } = await startListener('stream');
    let late: Conduit | undefined;
    const failure = connectWithDeadline('attempt', request(path, { timeoutMs: 10 }), (succeed) => {
      const timer = setTimeout(() => {
        void cluster('stream')
          .connect(request(path))
          .then((conduit) => {
            late = conduit;
            succeed(conduit);
          });
      }, 40);
      cleanups.push(() => clearTimeout(timer));
      return () => undefined;
    });
    await expect(failure).rejects.toBeInstanceOf(ConnectTimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(late?.closed).toBe(true);
  });

  it('reports an endpoint with no path when the cluster has no filename', async () => {
    await expect(cluster('stream').connect(request(undefined))).rejects.toThrow(
      /endpoint "ep-1" has no socket path and the cluster no filename/,
    );
  });
});

export type { ListenerTransport };
