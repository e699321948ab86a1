import type { ClusterSpec, ListenerSpec } from '@l7mp/config';
import { silentLogger } from '../logger';
import type {
  AcceptResult,
  ClusterContext,
  Conduit,
  IncomingConnection,
  ListenerContext,
  TransportFactories,
} from '../transport/types';
import { Registry } from 'prom-client';

const noFactories: TransportFactories = {
  createListener: () => {
    throw new Error('not available in this test');
  },
  createCluster: () => {
    throw new Error('not available in this test');
  },
};

/**
 * Helpers for tests of socket transports (TCP, Unix sockets): a listener context that queues
 * connections, a conduit recorder, backpressure-aware writes and random messages.
 */

/** A listener context that records every connection and waits for them on demand. */
export class AcceptQueue {
  readonly connections: IncomingConnection[] = [];
  private waiters: ((connection: IncomingConnection) => void)[] = [];
  result: AcceptResult = { ok: true, status: 200, message: 'OK' };

  context(name: string, spec: ListenerSpec): ListenerContext {
    return {
      name,
      spec,
      logger: silentLogger(),
      transports: noFactories,
      accept: (connection) => {
        this.connections.push(connection);
        const waiter = this.waiters.shift();
        waiter?.(connection);
        return Promise.resolve(this.result);
      },
    };
  }

  /** The n-th connection (0-based), once it has arrived. */
  next(index = this.connections.length - this.waiters.length): Promise<IncomingConnection> {
    const existing = this.connections[index];
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export function clusterContext(name: string, spec: ClusterSpec): ClusterContext {
  return { name, spec, logger: silentLogger(), transports: noFactories, metrics: new Registry() };
}

/** Records everything a conduit reports, and lets a test wait for it. */
export class Recorder {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  ended = false;
  closed = false;
  closeError: Error | undefined;
  drains = 0;
  private listeners = new Set<() => void>();

  constructor(readonly conduit: Conduit) {
    conduit.setHandlers({
      data: (chunk) => {
        this.chunks.push(Buffer.from(chunk));
        this.bytes += chunk.length;
        this.notify();
      },
      end: () => {
        this.ended = true;
        this.notify();
      },
      close: (error) => {
        this.closed = true;
        this.closeError = error;
        this.notify();
      },
      drain: () => {
        this.drains++;
        this.notify();
      },
    });
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  until(condition: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }

  untilBytes(count: number): Promise<void> {
    return this.until(() => this.bytes >= count, `${count} bytes (have ${this.bytes})`);
  }

  untilMessages(count: number): Promise<void> {
    return this.until(() => this.chunks.length >= count, `${count} messages (have ${this.chunks.length})`);
  }

  untilEnd(): Promise<void> {
    return this.until(() => this.ended, 'end');
  }

  untilClose(): Promise<void> {
    return this.until(() => this.closed, 'close');
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** Writes `total` bytes in chunks, honouring write() === false by waiting for drain. */
export async function writeWithBackpressure(
  recorder: Recorder,
  payload: Buffer,
  chunkSize: number,
): Promise<number> {
  let waits = 0;
  for (let offset = 0; offset < payload.length; offset += chunkSize) {
    const ok = recorder.conduit.write(payload.subarray(offset, offset + chunkSize));
    if (!ok) {
      waits++;
      const drains = recorder.drains;
      await recorder.until(() => recorder.drains > drains || recorder.closed, 'drain');
    }
  }
  return waits;
}

export function randomMessages(count: number, maxSize = 1400): Buffer[] {
  const messages: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const size = 1 + Math.floor(Math.random() * maxSize);
    const message = Buffer.alloc(size);
    // Printable bytes and no newline, so the same messages suit every framing.
    for (let j = 0; j < size; j++) message[j] = 0x21 + ((i * 7 + j) % 90);
    messages.push(message);
  }
  return messages;
}
