import { afterEach, describe, expect, it } from '@jest/globals';
import type { ClusterSpec, ListenerSpec } from '@l7mp/config';
import type {
  ClusterTransport,
  Conduit,
  EndpointTarget,
  IncomingConnection,
  ListenerTransport,
  StreamKind,
  TransportPlugin,
} from '../transport/types';
import {
  collect,
  type ConduitCollector,
  createTransportFactories,
  DEFAULT_WAIT_MS,
  makeClusterContext,
  makeListenerContext,
  type TestListenerContext,
  withTimeout,
} from './helpers';

export type BoundAddress = ReturnType<NonNullable<ListenerTransport['address']>>;

/** What a transport package tells the compliance suite about itself. */
export interface TransportUnderTest {
  protocol: string;
  kind: StreamKind;
  plugin: TransportPlugin;
  /** A spec that binds an ephemeral address (port 0, a fresh socket path...). */
  listenerSpec(): ListenerSpec | Promise<ListenerSpec>;
  /** The cluster spec and endpoint that reach a listener bound at `bound`. */
  clusterFor(bound: BoundAddress): { spec: ClusterSpec; endpoint: EndpointTarget };
  /** Whether destroying one end is reported as `close` at the other end. */
  reportsPeerClose: boolean;
  /** Whether `end()` at one end is reported as `end` at the other, which can still write back. */
  supportsHalfClose: boolean;
  /** False for connectionless protocols whose connect cannot notice that nothing listens (default true). */
  refusesWhenNothingListens?: boolean;
  /** An endpoint that never answers a connect, to check `timeoutMs` (the check is skipped without one). */
  unreachable?(): { spec: ClusterSpec; endpoint: EndpointTarget };
  /** The spec that binds the same address again (default: `port`/`filename` taken from `bound`). */
  rebindSpec?(spec: ListenerSpec, bound: BoundAddress): ListenerSpec;
  /** Other plugins the transport builds on (e.g. the transports under JSONSocket). */
  dependencies?: readonly TransportPlugin[];
}

interface Opened {
  client: Conduit;
  server: Conduit;
  incoming: IncomingConnection;
  atClient: ConduitCollector;
  atServer: ConduitCollector;
}

const FIRST_MESSAGE = 'hello';

function defaultRebind(spec: ListenerSpec, bound: BoundAddress): ListenerSpec {
  if (bound !== undefined && 'port' in bound) return { ...spec, port: bound.port } as ListenerSpec;
  return spec;
}

/** Everything one test opened, so afterEach can release it even when the test failed. */
class Harness {
  readonly conduits: Conduit[] = [];
  readonly listeners: ListenerTransport[] = [];
  readonly clusters: ClusterTransport[] = [];

  constructor(private readonly target: TransportUnderTest) {}

  private get plugins(): TransportPlugin[] {
    return [this.target.plugin, ...(this.target.dependencies ?? [])];
  }

  async startListener(spec?: ListenerSpec): Promise<{
    listener: ListenerTransport;
    context: TestListenerContext;
    spec: ListenerSpec;
    bound: BoundAddress;
  }> {
    const listenerSpec = spec ?? (await this.target.listenerSpec());
    const context = makeListenerContext(listenerSpec, undefined, {
      name: `compliance-${this.target.protocol}-listener`,
      transports: createTransportFactories(this.plugins),
    });
    const factory = this.target.plugin.listeners?.find((f) => f.protocol === listenerSpec.protocol);
    if (factory === undefined) {
      throw new Error(
        `plugin "${this.target.plugin.name}" has no listener for protocol "${listenerSpec.protocol}"`,
      );
    }
    const listener = factory.create(context);
    this.listeners.push(listener);
    await listener.start();
    const bound = listener.address?.();
    return { listener, context, spec: listenerSpec, bound };
  }

  cluster(spec: ClusterSpec): ClusterTransport {
    const factory = this.target.plugin.clusters?.find((f) => f.protocol === spec.protocol);
    if (factory === undefined) {
      throw new Error(`plugin "${this.target.plugin.name}" has no cluster for protocol "${spec.protocol}"`);
    }
    const cluster = factory.create(
      makeClusterContext(spec, {
        name: `compliance-${this.target.protocol}-cluster`,
        transports: createTransportFactories(this.plugins),
      }),
    );
    this.clusters.push(cluster);
    return cluster;
  }

  async connect(
    cluster: ClusterTransport,
    endpoint: EndpointTarget,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Conduit> {
    const conduit = await cluster.connect({
      endpoint,
      sessionName: `compliance-session-${this.conduits.length}`,
      metadata: {},
      timeoutMs: options.timeoutMs ?? 2000,
      signal: options.signal ?? new AbortController().signal,
    });
    this.conduits.push(conduit);
    return conduit;
  }

  /** Listener + cluster + one connection; the client's first message has already arrived. */
  async open(): Promise<Opened & { listener: ListenerTransport; context: TestListenerContext }> {
    const { listener, context, bound } = await this.startListener();
    const { spec, endpoint } = this.target.clusterFor(bound);
    const client = await this.connect(this.cluster(spec), endpoint);
    const atClient = collect(client);
    // Connectionless transports create the server side only when the first message arrives.
    client.write(Buffer.from(FIRST_MESSAGE));
    const incoming = await context.nextConnection();
    this.conduits.push(incoming.conduit);
    const atServer = collect(incoming.conduit);
    const first = await atServer.waitForBytes(FIRST_MESSAGE.length);
    expect(first.toString()).toBe(FIRST_MESSAGE);
    return { client, server: incoming.conduit, incoming, atClient, atServer, listener, context };
  }

  async release(): Promise<void> {
    for (const conduit of this.conduits) conduit.destroy();
    await Promise.allSettled(this.listeners.map((l) => l.close()));
    await Promise.allSettled(this.clusters.map((c) => c.close?.() ?? Promise.resolve()));
  }
}

function payload(size: number, seed: number): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 31 + seed) & 0xff;
  return buffer;
}

/** Expects `promise` to reject with an Error within `ms`. */
async function expectRejectionWithin(promise: Promise<unknown>, ms: number): Promise<Error> {
  const outcome = await withTimeout(
    promise.then(
      () => undefined,
      (error: unknown) => error,
    ),
    ms,
    'the connect to fail',
  );
  expect(outcome).toBeInstanceOf(Error);
  return outcome as Error;
}

/** Waits for the close caused by the peer's destroy(), with a hint when only `end` arrived. */
async function expectPeerClose(collector: ConduitCollector): Promise<void> {
  try {
    await collector.waitForClose();
  } catch (error) {
    if (!collector.ended) throw error;
    throw new Error(
      'the peer was destroyed but this end only saw "end" (a FIN), no "close": reset the connection on ' +
        'destroy, or declare reportsPeerClose: false',
      { cause: error },
    );
  }
}

/**
 * Registers a jest `describe` block that checks a transport against the Conduit contract of
 * `@l7mp/core`: open, send and receive both ways, message boundaries, half-close, connect errors
 * and timeouts, close and cleanup. Every transport package runs it against itself.
 */
export function describeTransportCompliance(target: TransportUnderTest): void {
  describe(`${target.protocol} transport compliance`, () => {
    let harness = new Harness(target);

    afterEach(async () => {
      await harness.release();
      harness = new Harness(target);
    });

    it('opens: the listener receives a named connection with metadata', async () => {
      const { incoming, client, server } = await harness.open();
      expect(typeof incoming.name).toBe('string');
      expect(incoming.name.length).toBeGreaterThan(0);
      expect(incoming.metadata).not.toBeNull();
      expect(typeof incoming.metadata).toBe('object');
      expect(client.kind).toBe(target.kind);
      expect(server.kind).toBe(target.kind);
      expect(client.closed).toBe(false);
      expect(server.closed).toBe(false);
    });

    it('sends and receives in both directions', async () => {
      const { client, server, atClient, atServer } = await harness.open();
      server.write(Buffer.from('from server'));
      expect((await atClient.waitForBytes('from server'.length)).toString()).toBe('from server');
      client.write(Buffer.from('again'));
      const all = await atServer.waitForBytes(FIRST_MESSAGE.length + 'again'.length);
      expect(all.toString()).toBe(`${FIRST_MESSAGE}again`);
    });

    if (target.kind === 'datagram') {
      it('keeps message boundaries (1, 700 and 1400 bytes arrive as 3 messages)', async () => {
        const { client, server, atClient, atServer } = await harness.open();
        const sent = [payload(1, 1), payload(700, 2), payload(1400, 3)];
        for (const message of sent) client.write(message);
        const received = (await atServer.waitFor(1 + sent.length)).slice(1);
        expect(received.map((m) => m.length)).toEqual([1, 700, 1400]);
        received.forEach((message, i) => expect(message.equals(sent[i] as Buffer)).toBe(true));
        for (const message of sent) server.write(message);
        const back = await atClient.waitFor(sent.length);
        back.forEach((message, i) => expect(message.equals(sent[i] as Buffer)).toBe(true));
      });
    } else {
      it('delivers the bytes of a byte stream in order', async () => {
        const { client, atServer } = await harness.open();
        const sent = [payload(1, 1), payload(700, 2), payload(1400, 3), payload(64 * 1024, 4)];
        for (const chunk of sent) client.write(chunk);
        const total = FIRST_MESSAGE.length + sent.reduce((n, chunk) => n + chunk.length, 0);
        const received = await atServer.waitForBytes(total);
        expect(received.length).toBe(total);
        expect(received.equals(Buffer.concat([Buffer.from(FIRST_MESSAGE), ...sent]))).toBe(true);
      });
    }

    (target.supportsHalfClose ? it : it.skip)(
      'half-closes: end() is seen by the peer, which can still answer',
      async () => {
        const { client, server, atClient, atServer } = await harness.open();
        client.end();
        await atServer.waitForEnd();
        server.write(Buffer.from('late answer'));
        expect((await atClient.waitForBytes('late answer'.length)).toString()).toBe('late answer');
        server.end();
        await atClient.waitForEnd();
      },
    );

    (target.refusesWhenNothingListens === false ? it.skip : it)(
      'rejects a connect to an endpoint where nothing listens',
      async () => {
        const { listener, bound } = await harness.startListener();
        const { spec, endpoint } = target.clusterFor(bound);
        await listener.close();
        const error = await expectRejectionWithin(
          harness.connect(harness.cluster(spec), endpoint, { timeoutMs: 1000 }),
          DEFAULT_WAIT_MS,
        );
        expect(error.message.length).toBeGreaterThan(0);
      },
    );

    it('rejects a connect whose signal is already aborted', async () => {
      const { bound } = await harness.startListener();
      const { spec, endpoint } = target.clusterFor(bound);
      const controller = new AbortController();
      controller.abort();
      await expectRejectionWithin(
        harness.connect(harness.cluster(spec), endpoint, { signal: controller.signal }),
        DEFAULT_WAIT_MS,
      );
    });

    const unreachable = target.unreachable;
    (unreachable !== undefined ? it : it.skip)('honours the connect timeout', async () => {
      if (unreachable === undefined) return;
      const { spec, endpoint } = unreachable();
      const started = Date.now();
      await expectRejectionWithin(harness.connect(harness.cluster(spec), endpoint, { timeoutMs: 300 }), 3000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    });

    it('closes: destroy() at the client closes both ends', async () => {
      const { client, server, atClient, atServer } = await harness.open();
      client.destroy();
      expect(client.closed).toBe(true);
      await atClient.waitForClose();
      expect(client.write(Buffer.from('after close'))).toBe(false);
      if (target.reportsPeerClose) await expectPeerClose(atServer);
      else server.destroy();
      expect(server.closed).toBe(true);
      expect(atServer.closed).toBe(true);
    });

    it('closes: destroy() at the server is reported to the client', async () => {
      const { client, server, atClient } = await harness.open();
      server.destroy();
      expect(server.closed).toBe(true);
      expect(server.write(Buffer.from('after close'))).toBe(false);
      if (target.reportsPeerClose) await expectPeerClose(atClient);
      else client.destroy();
      expect(client.closed).toBe(true);
    });

    it('reports close exactly once and ignores calls after it', async () => {
      const { client, server } = await harness.open();
      let closes = 0;
      client.setHandlers({ data: () => {}, end: () => {}, drain: () => {}, close: () => closes++ });
      client.destroy();
      client.destroy(new Error('second destroy'));
      client.end();
      expect(() => client.write(Buffer.from('x'))).not.toThrow();
      expect(closes).toBe(1);
      server.destroy();
    });

    it('releases its address on close: the same address can be bound again', async () => {
      const first = await harness.open();
      const bound = first.listener.address?.();
      await first.listener.close();
      const rebind = target.rebindSpec ?? defaultRebind;
      const again = await harness.startListener(rebind(first.context.spec, bound));
      expect(again.bound).toEqual(bound);
      const { spec, endpoint } = target.clusterFor(again.bound);
      const client = await harness.connect(harness.cluster(spec), endpoint);
      client.write(Buffer.from(FIRST_MESSAGE));
      const incoming = await again.context.nextConnection();
      harness.conduits.push(incoming.conduit);
      await collect(incoming.conduit).waitForBytes(FIRST_MESSAGE.length);
      for (const conduit of [first.client, first.server, client, incoming.conduit]) conduit.destroy();
      for (const conduit of harness.conduits) expect(conduit.closed).toBe(true);
    });
  });
}
