import type { ListenerSpec } from '@l7mp/config';
import {
  silentLogger,
  type AcceptResult,
  type Conduit,
  type ConduitHandlers,
  type IncomingConnection,
  type ListenerContext,
} from '@l7mp/core';

/** A listener context whose accept() records connections and answers with `result`. */
export function listenerContext(
  spec: ListenerSpec,
  result: AcceptResult = { ok: true, status: 200, message: 'OK' },
): { context: ListenerContext; connections: IncomingConnection[]; next(): Promise<IncomingConnection> } {
  const connections: IncomingConnection[] = [];
  const waiters: ((connection: IncomingConnection) => void)[] = [];
  let taken = 0;
  const context: ListenerContext = {
    name: 'http-in',
    spec,
    logger: silentLogger(),
    transports: {
      createListener: () => {
        throw new Error('no inner transports');
      },
      createCluster: () => {
        throw new Error('no inner transports');
      },
    },
    accept: async (connection) => {
      connections.push(connection);
      waiters.shift()?.(connection);
      return result;
    },
  };
  return {
    context,
    connections,
    next: () => {
      const ready = connections[taken++];
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** Records what a conduit reports. */
export class Recorder implements ConduitHandlers {
  readonly chunks: Buffer[] = [];
  ended = false;
  closedWith: { error: Error | undefined } | undefined;
  private endWaiters: (() => void)[] = [];
  private closeWaiters: (() => void)[] = [];

  constructor(conduit: Conduit) {
    conduit.setHandlers(this);
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }

  data(chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  end(): void {
    this.ended = true;
    for (const resolve of this.endWaiters.splice(0)) resolve();
  }

  close(error?: Error): void {
    this.closedWith = { error };
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }

  drain(): void {}

  waitForEnd(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.endWaiters.push(resolve));
  }

  waitForClose(): Promise<Error | undefined> {
    if (this.closedWith !== undefined) return Promise.resolve(this.closedWith.error);
    return new Promise((resolve) => this.closeWaiters.push(() => resolve(this.closedWith?.error)));
  }
}
