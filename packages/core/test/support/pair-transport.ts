import { ConnectError } from '../../src/errors';
import { BaseConduit } from '../../src/transport/base-conduit';
import type {
  AcceptResult,
  ClusterContext,
  ClusterTransport,
  Conduit,
  ConduitHandlers,
  ConnectRequest,
  IncomingConnection,
  ListenerContext,
  ListenerTransport,
  ResponseHead,
  StreamKind,
  TransportPlugin,
} from '../../src/transport/types';

/**
 * An in-process transport for engine tests, registered as protocol "Test". A listener's
 * connections are opened by the test; a cluster's endpoints (by `spec.address`) do what the
 * test tells them: accept and echo, refuse, hang, or die mid-session.
 */

/** One end of an in-memory duplex; writes appear as data on the other end. */
export class PairEnd extends BaseConduit {
  peer: PairEnd | undefined;
  private localEnded = false;
  private remoteEnded = false;
  private releasing = false;
  paused = false;
  /** Lets a test force backpressure: `write` returns false while set. */
  full = false;

  constructor(readonly kind: StreamKind) {
    super();
  }

  protected send(chunk: Buffer): boolean {
    this.peer?.deliverData(Buffer.from(chunk));
    return !this.full;
  }

  protected sendEnd(): void {
    this.localEnded = true;
    const peer = this.peer;
    if (peer !== undefined) {
      peer.remoteEnded = true;
      peer.deliverEnd();
      if (peer.localEnded) this.destroy();
    }
  }

  protected release(error?: Error): void {
    if (this.releasing) return;
    this.releasing = true;
    const peer = this.peer;
    if (peer !== undefined && !peer.closed && !peer.releasing) peer.destroy(error);
  }

  protected override pauseSource(): void {
    this.paused = true;
  }

  protected override resumeSource(): void {
    this.paused = false;
  }

  /** Test hook: a response head that the other end reports. */
  sendHead(head: ResponseHead): void {
    this.peer?.deliverHead(head);
  }

  /** Test hook: this end can take writes again (reports drain to its consumer). */
  signalDrain(): void {
    this.full = false;
    this.deliverDrain();
  }

  get halfClosedByPeer(): boolean {
    return this.remoteEnded;
  }
}

export function pair(kind: StreamKind): [PairEnd, PairEnd] {
  const a = new PairEnd(kind);
  const b = new PairEnd(kind);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Collects what arrives on a conduit and lets a test wait for it. */
export class Recorder implements ConduitHandlers {
  readonly chunks: Buffer[] = [];
  ended = false;
  closed = false;
  closeError: Error | undefined;
  private waiters: (() => void)[] = [];

  /** With `halfOpen` false (the default) the recorder ends its side when the peer ends, like a socket. */
  constructor(
    readonly conduit: Conduit,
    private readonly halfOpen = false,
  ) {
    conduit.setHandlers(this);
  }

  data(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.wake();
  }
  end(): void {
    this.ended = true;
    if (!this.halfOpen) this.conduit.end();
    this.wake();
  }
  close(error?: Error): void {
    this.closed = true;
    this.closeError = error;
    this.wake();
  }
  drain(): void {}

  text(): string {
    return Buffer.concat(this.chunks).toString();
  }

  /** Resolves once `condition` holds (checked after every event). */
  until(condition: (recorder: Recorder) => boolean, what = 'condition'): Promise<void> {
    if (condition(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
      const check = (): void => {
        if (condition(this)) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}

export type EndpointMode = 'ok' | 'fail' | 'hang';

/** A pretend server at one address. */
export class TestEndpoint {
  /** Outcomes of the next connects, in order; when empty, `defaultMode`. */
  readonly modes: EndpointMode[] = [];
  defaultMode: EndpointMode = 'ok';
  echo = true;
  /** What an echoing endpoint sends back for each chunk (default: the chunk). */
  transform: (chunk: Buffer) => Buffer = (chunk) => chunk;
  /** An echoing endpoint's response head, sent before its first reply. */
  head: ResponseHead | undefined;
  attempts = 0;
  /** Server sides of accepted connections. */
  readonly connections: PairEnd[] = [];
  private waiters: ((end: PairEnd) => void)[] = [];

  constructor(readonly address: string) {}

  connect(kind: StreamKind): Promise<Conduit> {
    this.attempts++;
    const mode = this.modes.shift() ?? this.defaultMode;
    if (mode === 'fail') return Promise.reject(new ConnectError(`Test endpoint "${this.address}" refused`));
    // A hanging endpoint ignores the abort signal on purpose: the engine must time out anyway.
    if (mode === 'hang') return new Promise<Conduit>(() => {});
    const [client, server] = pair(kind);
    if (this.echo) {
      server.setHandlers({
        data: (chunk) => {
          if (this.head !== undefined) server.sendHead(this.head);
          server.write(this.transform(chunk));
        },
        end: () => server.end(),
        close: () => {},
        drain: () => {},
      });
    }
    this.connections.push(server);
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter(server);
    return Promise.resolve(client);
  }

  /** Resolves with the server side of the next accepted connection. */
  nextConnection(): Promise<PairEnd> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Kills every open connection, as if the server process died. */
  kill(): void {
    for (const end of [...this.connections])
      if (!end.closed) end.destroy(new Error(`endpoint ${this.address} died`));
  }

  get open(): number {
    return this.connections.filter((end) => !end.closed).length;
  }
}

export interface OpenedConnection {
  client: PairEnd;
  recorder: Recorder;
  result: Promise<AcceptResult>;
  rejected: AcceptResult | undefined;
  established: boolean;
}

export class TestListener implements ListenerTransport {
  readonly kind: StreamKind;
  started = false;
  closed = false;
  private counter = 0;

  constructor(
    private readonly network: TestNetwork,
    private readonly context: ListenerContext,
  ) {
    const spec = context.spec as { kind?: StreamKind };
    this.kind = spec.kind ?? 'byte-stream';
  }

  start(): Promise<void> {
    const spec = this.context.spec as { fail_start?: boolean };
    if (spec.fail_start === true) return Promise.reject(new Error('EADDRINUSE: address already in use'));
    this.started = true;
    this.network.listeners.set(this.context.name, this);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.network.listeners.get(this.context.name) === this)
      this.network.listeners.delete(this.context.name);
    return Promise.resolve();
  }

  /** Hands a hand-made connection to the proxy (e.g. one with `reconnect`). */
  accept(connection: IncomingConnection): Promise<AcceptResult> {
    return this.context.accept(connection);
  }

  /** Opens a connection to the proxy as a client would. */
  open(metadata: Record<string, unknown> = {}, name?: string): OpenedConnection {
    const [client, server] = pair(this.kind);
    this.network.track(client, server);
    const opened: OpenedConnection = {
      client,
      recorder: new Recorder(client),
      result: Promise.resolve({ ok: false, status: 0, message: '' }),
      rejected: undefined,
      established: false,
    };
    opened.result = this.context.accept({
      conduit: server,
      metadata,
      name: name ?? `Test:${this.context.name}-${this.counter++}`,
      reject: (result) => {
        opened.rejected = result;
      },
      established: () => {
        opened.established = true;
      },
    });
    return opened;
  }
}

class TestCluster implements ClusterTransport {
  readonly kind: StreamKind;
  readonly virtual = false;
  readonly retriable: boolean;
  closed = false;

  constructor(
    private readonly network: TestNetwork,
    context: ClusterContext,
  ) {
    const spec = context.spec as { kind?: StreamKind; retriable?: boolean };
    this.kind = spec.kind ?? 'byte-stream';
    this.retriable = spec.retriable !== false;
  }

  async connect(request: ConnectRequest): Promise<Conduit> {
    const address = request.endpoint?.spec.address;
    if (typeof address !== 'string') throw new ConnectError('Test cluster: endpoint without address');
    const conduit = await this.network.endpoint(address).connect(this.kind);
    this.network.track(conduit);
    return conduit;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** The in-process "network" a test controls. */
export class TestNetwork {
  readonly listeners = new Map<string, TestListener>();
  readonly endpoints = new Map<string, TestEndpoint>();
  private readonly conduits: Conduit[] = [];

  readonly plugin: TransportPlugin = {
    name: 'test',
    listeners: [{ protocol: 'Test', create: (context) => new TestListener(this, context) }],
    clusters: [{ protocol: 'Test', create: (context) => new TestCluster(this, context) }],
  };

  endpoint(address: string): TestEndpoint {
    let endpoint = this.endpoints.get(address);
    if (endpoint === undefined) this.endpoints.set(address, (endpoint = new TestEndpoint(address)));
    return endpoint;
  }

  listener(name: string): TestListener {
    const listener = this.listeners.get(name);
    if (listener === undefined) throw new Error(`test listener "${name}" is not running`);
    return listener;
  }

  track(...conduits: Conduit[]): void {
    this.conduits.push(...conduits);
  }

  /** Conduits the proxy was given or opened that are still open. */
  openConduits(): number {
    let open = this.conduits.filter((c) => !c.closed).length;
    for (const endpoint of this.endpoints.values()) open += endpoint.open;
    return open;
  }
}
