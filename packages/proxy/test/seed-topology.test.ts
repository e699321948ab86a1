import { afterEach, describe, expect, it } from '@jest/globals';
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SeqpacketServer, type SeqpacketSocket } from 'node-unix-socket';
import { createFramer, createProxy, type Proxy } from '@l7mp/core';
import { ALL_TRANSPORTS } from '../src/transports';

/**
 * The seed scenario (shared/seed/routing-and-protocol-conversion.md) in one process: a UDP
 * ingress whose route sends every datagram first through a WebSocket hop to one of two
 * transcoder sidecars (each converting WebSocket to a Unix socket echo app), then to one of two
 * UDP workers, and the worker's answer back to the client.
 */

const encoder = (text: string) => Buffer.from(text, 'utf8');

interface Closer {
  close(): Promise<void> | void;
}

async function udpWorker(name: string, closers: Closer[]): Promise<number> {
  const socket = createSocket('udp4');
  socket.on('message', (message, peer) => {
    socket.send(Buffer.concat([encoder(`Echo on ${name}: `), message]), peer.port, peer.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  closers.push({ close: () => new Promise<void>((resolve) => socket.close(() => resolve())) });
  return socket.address().port;
}

/** The transcoder app in datagram mode: SOCK_SEQPACKET keeps every message whole. */
function seqpacketTranscoder(name: string, socketPath: string, closers: Closer[]): void {
  const server = new SeqpacketServer();
  const clients: SeqpacketSocket[] = [];
  server.on('connection', (socket: SeqpacketSocket) => {
    clients.push(socket);
    socket.on('data', (message: Buffer) =>
      socket.write(Buffer.concat([encoder(`Transcoded on ${name}: `), message])),
    );
    socket.on('error', () => socket.destroy());
  });
  server.listen(socketPath);
  closers.push({
    close: () => {
      for (const client of clients) client.destroy();
      server.close();
    },
  });
}

/** The transcoder app over a byte stream with length-prefixed framing. */
async function framedTranscoder(name: string, socketPath: string, closers: Closer[]): Promise<void> {
  const framer = createFramer('length-prefixed')!;
  const server: Server = createServer((socket) => {
    const decoder = framer.createDecoder(
      (message) => {
        for (const frame of [
          framer.encode(Buffer.concat([encoder(`Transcoded on ${name}: `), message])),
        ].flat()) {
          socket.write(frame);
        }
      },
      () => socket.destroy(),
    );
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  closers.push({
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  });
}

async function sidecar(
  name: string,
  socketPath: string,
  udsSpec: Record<string, unknown>,
): Promise<{ proxy: Proxy; port: number }> {
  const proxy = createProxy({ transports: [...ALL_TRANSPORTS] });
  await proxy.applyConfig({
    clusters: [
      {
        name: 'uds-cluster',
        spec: { protocol: 'UnixDomainSocket', filename: socketPath, ...udsSpec },
        endpoints: [{ name: `${name}-uds`, spec: { filename: socketPath } }],
      },
    ],
    listeners: [
      {
        name: 'websocket',
        spec: { protocol: 'WebSocket', port: 0, address: '127.0.0.1' },
        rules: [{ action: { route: { destination: 'uds-cluster' } } }],
      },
    ],
  });
  const bound = proxy.listenerAddress('websocket') as { port: number };
  return { proxy, port: bound.port };
}

async function ingress(
  transcoderPorts: number[],
  workerPorts: number[],
): Promise<{ proxy: Proxy; port: number }> {
  const proxy = createProxy({ transports: [...ALL_TRANSPORTS] });
  await proxy.applyConfig({
    clusters: [
      {
        name: 'websocket-cluster',
        spec: { protocol: 'WebSocket', port: 8888 },
        loadbalancer: { policy: 'ConsistentHash' },
        endpoints: transcoderPorts.map((port, i) => ({
          name: `transcoder-${i + 1}`,
          spec: { address: '127.0.0.1', port },
        })),
      },
      {
        name: 'udp-cluster',
        spec: { protocol: 'UDP', port: 9999 },
        loadbalancer: { policy: 'ConsistentHash' },
        endpoints: workerPorts.map((port, i) => ({
          name: `worker-${i + 1}`,
          spec: { address: '127.0.0.1', port },
        })),
      },
    ],
    listeners: [
      {
        name: 'gateway',
        spec: { protocol: 'UDP', port: 0, address: '127.0.0.1' },
        rules: [{ action: { route: { destination: 'udp-cluster', ingress: ['websocket-cluster'] } } }],
      },
    ],
  });
  const bound = proxy.listenerAddress('gateway') as { port: number };
  return { proxy, port: bound.port };
}

/**
 * Sends `count` datagrams of random sizes 1-1400 with at most `window` unanswered, and checks
 * that each reply is the seed's two prefixes followed by exactly the datagram sent, in order.
 */
async function exchange(
  port: number,
  count: number,
  window: number,
): Promise<{ transcoders: Set<string>; workers: Set<string> }> {
  const client: Socket = createSocket('udp4');
  client.bind(0, '127.0.0.1');
  await once(client, 'listening');
  const sent: Buffer[] = [];
  const transcoders = new Set<string>();
  const workers = new Set<string>();
  const prefix = /^Echo on (worker-\d): Transcoded on (transcoder-\d): /;
  try {
    await new Promise<void>((resolve, reject) => {
      let received = 0;
      const timer = setTimeout(
        () => reject(new Error(`only ${received} of ${count} replies within 20 s`)),
        20_000,
      );
      const sendNext = () => {
        const payload = randomBytes(randomInt(1, 1401));
        sent.push(payload);
        client.send(payload, port, '127.0.0.1');
      };
      client.on('message', (reply: Buffer) => {
        const expected = sent[received];
        const head = prefix.exec(reply.subarray(0, 64).toString('latin1'));
        if (expected === undefined || head === null) {
          clearTimeout(timer);
          reject(new Error(`unexpected reply #${received}: ${reply.subarray(0, 80).toString('latin1')}`));
          return;
        }
        workers.add(head[1]!);
        transcoders.add(head[2]!);
        const body = reply.subarray(Buffer.byteLength(head[0], 'latin1'));
        if (!body.equals(expected)) {
          clearTimeout(timer);
          reject(
            new Error(
              `reply #${received} does not carry datagram #${received} intact (${body.length} vs ${expected.length} bytes; it matches datagram #${sent.findIndex((d) => d.equals(body))})`,
            ),
          );
          return;
        }
        received++;
        if (received === count) {
          clearTimeout(timer);
          resolve();
        } else if (sent.length < count) sendNext();
      });
      for (let i = 0; i < Math.min(window, count); i++) sendNext();
    });
  } finally {
    client.close();
  }
  return { transcoders, workers };
}

describe('the seed topology (UDP → WebSocket → UDS → UDP), in one process', () => {
  const closers: Closer[] = [];
  let dir: string | undefined;

  afterEach(async () => {
    for (const closer of closers.splice(0).reverse()) await closer.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function topology(mode: 'seqpacket' | 'framed'): Promise<number> {
    dir = await mkdtemp(path.join(tmpdir(), 'l7mp-seed-'));
    const workerPorts = [await udpWorker('worker-1', closers), await udpWorker('worker-2', closers)];
    const transcoderPorts: number[] = [];
    for (const name of ['transcoder-1', 'transcoder-2']) {
      const socketPath = path.join(dir, `${name}.sock`);
      if (mode === 'seqpacket') seqpacketTranscoder(name, socketPath, closers);
      else await framedTranscoder(name, socketPath, closers);
      const { proxy, port } = await sidecar(
        name,
        socketPath,
        mode === 'seqpacket' ? { mode: 'seqpacket' } : { mode: 'stream', framing: 'length-prefixed' },
      );
      closers.push(proxy);
      transcoderPorts.push(port);
    }
    const gateway = await ingress(transcoderPorts, workerPorts);
    closers.push(gateway.proxy);
    return gateway.port;
  }

  it('1000 datagrams of 1-1400 bytes come back intact, in order, one reply each (UDS SOCK_SEQPACKET)', async () => {
    const port = await topology('seqpacket');
    const seen = await exchange(port, 1000, 4);
    // One client is one session: consistent hashing keeps it on one transcoder and one worker.
    expect(seen.transcoders.size).toBe(1);
    expect(seen.workers.size).toBe(1);
  });

  it('1000 datagrams come back intact with a length-prefixed byte-stream UDS hop', async () => {
    const port = await topology('framed');
    await exchange(port, 1000, 4);
  });

  it('the seed test messages get the seed replies', async () => {
    const port = await topology('seqpacket');
    const client = createSocket('udp4');
    try {
      for (const message of ['This is a test!', "Hurray it's working!"]) {
        client.send(message, port, '127.0.0.1');
        const [reply] = (await once(client, 'message')) as [Buffer];
        expect(reply.toString()).toMatch(
          new RegExp(`^Echo on worker-[12]: Transcoded on transcoder-[12]: ${message}$`),
        );
      }
    } finally {
      client.close();
    }
  });
});
