import type { EventEmitter } from 'node:events';
import type { ClusterSpec, ListenerSpec } from '@l7mp/config';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { NotFoundError } from '../errors';
import type { Logger } from '../logger';
import type {
  AcceptResult,
  ClusterContext,
  ClusterTransport,
  Conduit,
  IncomingConnection,
  ListenerContext,
  ListenerTransport,
  ResponseHead,
  TransportFactories,
  TransportPlugin,
} from '../transport/types';

/** How long the helpers wait for something before failing a test with a clear message. */
export const DEFAULT_WAIT_MS = 5000;

/** Rejects after `ms` with a message saying what did not happen; the timer does not keep jest alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The arguments of the next `event` of `emitter` (rejects on `error` unless that is the event). */
export function nextEvent<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<T> {
  let cleanup = (): void => {};
  const promise = new Promise<T>((resolve, reject) => {
    const onEvent = (...args: unknown[]): void => {
      cleanup();
      resolve(args as T);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
    cleanup = () => {
      emitter.removeListener(event, onEvent);
      emitter.removeListener('error', onError);
    };
  });
  return withTimeout(promise, timeoutMs, `event "${event}"`).finally(() => cleanup());
}

/** What `collect` records about a conduit. */
export interface ConduitCollector {
  readonly messages: Buffer[];
  readonly heads: ResponseHead[];
  readonly ended: boolean;
  readonly closed: boolean;
  readonly closeError: Error | undefined;
  drains: number;
  /** All received bytes, concatenated. */
  bytes(): Buffer;
  text(): string;
  /** Resolves once `count` messages arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<Buffer[]>;
  /** Resolves once at least `length` bytes arrived (byte streams). */
  waitForBytes(length: number, timeoutMs?: number): Promise<Buffer>;
  waitForEnd(timeoutMs?: number): Promise<void>;
  waitForClose(timeoutMs?: number): Promise<Error | undefined>;
}

/** Attaches handlers to `conduit` that record everything it reports. */
export function collect(conduit: Conduit): ConduitCollector {
  const messages: Buffer[] = [];
  const heads: ResponseHead[] = [];
  let ended = false;
  let closed = false;
  let closeError: Error | undefined;
  let received = 0;
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  const until = <T>(ready: () => T | undefined, ms: number, what: string): Promise<T> => {
    const now = ready();
    if (now !== undefined) return Promise.resolve(now);
    let check = (): void => {};
    const promise = new Promise<T>((resolve, reject) => {
      check = () => {
        const value = ready();
        if (value !== undefined) resolve(value);
        else if (closed)
          reject(new Error(`Conduit closed (${closeError?.message ?? 'no error'}) before ${what}`));
      };
      waiters.add(check);
    });
    return withTimeout(promise, ms, what).finally(() => waiters.delete(check));
  };
  const collector: ConduitCollector = {
    messages,
    heads,
    get ended() {
      return ended;
    },
    get closed() {
      return closed;
    },
    get closeError() {
      return closeError;
    },
    drains: 0,
    bytes: () => Buffer.concat(messages),
    text: () => Buffer.concat(messages).toString(),
    waitFor: (count, ms = DEFAULT_WAIT_MS) =>
      until(() => (messages.length >= count ? messages.slice(0, count) : undefined), ms, `${count} messages`),
    waitForBytes: (length, ms = DEFAULT_WAIT_MS) =>
      until(() => (received >= length ? Buffer.concat(messages) : undefined), ms, `${length} bytes`),
    waitForEnd: (ms = DEFAULT_WAIT_MS) =>
      until(() => (ended ? true : undefined), ms, 'the end').then(() => {}),
    waitForClose: (ms = DEFAULT_WAIT_MS) => {
      if (closed) return Promise.resolve(closeError);
      let check = (): void => {};
      const promise = new Promise<Error | undefined>((resolve) => {
        check = () => {
          if (closed) resolve(closeError);
        };
        waiters.add(check);
      });
      return withTimeout(promise, ms, 'the close').finally(() => waiters.delete(check));
    },
  };
  conduit.setHandlers({
    data(chunk) {
      messages.push(chunk);
      received += chunk.length;
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    close(error) {
      closed = true;
      closeError = error;
      notify();
    },
    drain() {
      collector.drains++;
    },
    head(head) {
      heads.push(head);
      notify();
    },
  });
  return collector;
}

/** One parsed pino line. */
export type LogRecord = Record<string, unknown> & { level: number; msg?: string };

/** A pino logger (level `trace`) that keeps what it logs in `records`, for assertions. */
export function createTestLogger(): Logger & { readonly records: LogRecord[] } {
  const records: LogRecord[] = [];
  // pino writes each record synchronously, as one JSON line, to any object with a write().
  const logger = pino(
    { level: 'trace' },
    {
      write(line: string): void {
        try {
          records.push(JSON.parse(line) as LogRecord);
        } catch {
          records.push({ level: 0, msg: line });
        }
      },
    },
  );
  return Object.assign(logger, { records });
}

/** TransportFactories that find the listener or cluster factory of a protocol among `plugins`. */
export function createTransportFactories(plugins: readonly TransportPlugin[]): TransportFactories {
  const factories: TransportFactories = {
    createListener(context: ListenerContext): ListenerTransport {
      const protocol = context.spec.protocol;
      for (const plugin of plugins) {
        const factory = plugin.listeners?.find((f) => f.protocol === protocol);
        if (factory !== undefined) return factory.create(context);
      }
      throw new NotFoundError(`No transport provides a listener of protocol "${protocol}"`);
    },
    createCluster(context: ClusterContext): ClusterTransport {
      const protocol = context.spec.protocol;
      for (const plugin of plugins) {
        const factory = plugin.clusters?.find((f) => f.protocol === protocol);
        if (factory !== undefined) return factory.create(context);
      }
      throw new NotFoundError(`No transport provides a cluster of protocol "${protocol}"`);
    },
  };
  return factories;
}

export interface TestContextOptions {
  name?: string;
  logger?: Logger;
  plugins?: readonly TransportPlugin[];
  transports?: TransportFactories;
  metrics?: Registry;
}

/** A ClusterContext for tests: silent logger, fresh registry, factories from `plugins`. */
export function makeClusterContext(spec: ClusterSpec, options: TestContextOptions = {}): ClusterContext {
  return {
    name: options.name ?? `test-${spec.protocol}-cluster`,
    spec,
    logger: options.logger ?? pino({ level: 'silent' }),
    transports: options.transports ?? createTransportFactories(options.plugins ?? []),
    metrics: options.metrics ?? new Registry(),
  };
}

/** A ListenerContext whose `accept` records each connection; wait for them with `nextConnection`. */
export interface TestListenerContext extends ListenerContext {
  readonly connections: IncomingConnection[];
  nextConnection(timeoutMs?: number): Promise<IncomingConnection>;
}

const ACCEPTED: AcceptResult = { ok: true, status: 200, message: 'OK' };

export function makeListenerContext(
  spec: ListenerSpec,
  accept?: (connection: IncomingConnection) => AcceptResult | Promise<AcceptResult>,
  options: TestContextOptions = {},
): TestListenerContext {
  const connections: IncomingConnection[] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  return {
    name: options.name ?? `test-${spec.protocol}-listener`,
    spec,
    logger: options.logger ?? pino({ level: 'silent' }),
    transports: options.transports ?? createTransportFactories(options.plugins ?? []),
    connections,
    async accept(connection: IncomingConnection): Promise<AcceptResult> {
      connections.push(connection);
      for (const waiter of waiters.splice(0)) waiter();
      const result = accept !== undefined ? await accept(connection) : ACCEPTED;
      // The proxy calls established() once the session is connected; so does this stand-in.
      if (result.ok) connection.established?.();
      return result;
    },
    nextConnection(timeoutMs = DEFAULT_WAIT_MS): Promise<IncomingConnection> {
      const index = taken++;
      const ready = (): IncomingConnection | undefined => connections[index];
      const now = ready();
      if (now !== undefined) return Promise.resolve(now);
      const promise = new Promise<IncomingConnection>((resolve) => {
        const check = (): void => {
          const connection = ready();
          if (connection !== undefined) resolve(connection);
          else waiters.push(check);
        };
        waiters.push(check);
      });
      return withTimeout(promise, timeoutMs, `incoming connection #${index + 1}`);
    },
  };
}
