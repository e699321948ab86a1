import type { RemoteInfo, Socket, SocketType } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ListenerSpecOf } from '@l7mp/config';
import {
  L7mpError,
  type AcceptResult,
  type Conduit,
  type IncomingConnection,
  type ListenerContext,
  type ListenerTransport,
  type SessionMetadata,
} from '@l7mp/core';
import { ConnectedDatagramConduit, UdpPeerConduit, type PeerTable } from './conduits';
import {
  SINGLETON_WITHOUT_REMOTE,
  UdpListenerClosedError,
  UdpListenerConfigError,
  UdpListenerStartError,
  toError,
} from './errors';
import {
  bindSocket,
  closeQuietly,
  connectSocket,
  literalFirstLookup,
  openSocket,
  socketTypeFor,
  wildcardAddress,
} from './socket';

export type UdpListenerSpec = ListenerSpecOf<'UDP'>;
export type UdpListenerMode = 'server' | 'singleton';

/** Sweeps per idle timeout: a quiet peer is closed between 1 and 1.25 idle timeouts after its last datagram. */
const SWEEPS_PER_IDLE_TIMEOUT = 4;

/**
 * Singleton iff `options.mode` says so or, when it is absent, iff both `connect.address` and
 * `connect.port` are set (anchor §2.1). Server mode with `connect` set filters peers.
 */
export function udpListenerMode(spec: UdpListenerSpec): UdpListenerMode {
  const explicit = spec.options?.mode;
  if (explicit !== undefined) return explicit;
  return spec.connect?.address !== undefined && spec.connect.port !== undefined ? 'singleton' : 'server';
}

/** `::ffff:1.2.3.4` (an IPv4 peer of a dual-stack socket) compares equal to `1.2.3.4`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

type State = 'new' | 'starting' | 'running' | 'closed';

/**
 * A UDP listener.
 *
 * Server mode: one session per remote address:port. The peer is registered synchronously on its
 * first datagram, so a burst of first packets yields one session and every datagram (the first
 * included) is queued on its conduit until the proxy attaches to it. A peer whose routing fails
 * is forgotten, so its next datagram tries again.
 *
 * Singleton mode: the socket is connected to `connect.address:port` and one session is handed to
 * the proxy at `start()`, before any traffic; `reconnect()` re-binds the same local port.
 */
export class UdpListener implements ListenerTransport, PeerTable {
  readonly kind = 'datagram' as const;
  readonly mode: UdpListenerMode;
  private readonly context: ListenerContext;
  private readonly spec: UdpListenerSpec;
  private readonly socketType: SocketType;
  private readonly bindAddress: string;
  private state: State = 'new';
  private socket: Socket | undefined;
  private bound: { address: string; port: number } | undefined;
  private nextSessionId = 0;

  // Server mode.
  private readonly peers = new Map<string, Map<number, UdpPeerConduit>>();
  private livePeers = 0;
  private filtered = 0;
  private filterAddresses: Set<string> | undefined;
  private readonly filterPort: number | undefined;
  private readonly idleTimeoutMs: number;
  private sweepTimer: NodeJS.Timeout | undefined;

  // Singleton mode.
  private singleton: ConnectedDatagramConduit | undefined;
  private reconnecting: Promise<Conduit> | undefined;

  constructor(context: ListenerContext) {
    const spec = context.spec;
    if (spec.protocol !== 'UDP') {
      throw new UdpListenerConfigError(context.name, `expected a UDP spec, got protocol "${spec.protocol}"`, [
        'protocol',
      ]);
    }
    this.context = context;
    this.spec = spec;
    this.mode = udpListenerMode(spec);
    if (
      this.mode === 'singleton' &&
      (spec.connect?.address === undefined || spec.connect.port === undefined)
    ) {
      throw new UdpListenerConfigError(context.name, SINGLETON_WITHOUT_REMOTE, ['options', 'mode']);
    }
    // An IPv6 remote with no local address asks for an IPv6 socket too.
    const remoteHint = this.mode === 'singleton' ? spec.connect?.address : undefined;
    this.socketType = socketTypeFor(spec.address ?? remoteHint);
    this.bindAddress = spec.address ?? wildcardAddress(this.socketType);
    this.filterPort = this.mode === 'server' ? spec.connect?.port : undefined;
    this.idleTimeoutMs = spec.options?.idle_timeout ?? 0;
  }

  /** Server mode: peers with a live conduit. */
  get peerCount(): number {
    return this.livePeers;
  }

  /** Server mode: datagrams dropped because the peer filter (`connect`) does not allow the sender. */
  get filteredDatagrams(): number {
    return this.filtered;
  }

  address(): { address: string; port: number } | undefined {
    return this.bound === undefined ? undefined : { ...this.bound };
  }

  async start(): Promise<void> {
    if (this.state !== 'new') {
      throw new L7mpError(`UDP listener "${this.context.name}": start() called twice`, {
        path: ['listeners', this.context.name],
      });
    }
    this.state = 'starting';
    try {
      if (this.mode === 'server') await this.startServer();
      else await this.startSingleton();
    } catch (error) {
      this.state = 'closed';
      this.bound = undefined;
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    // Server mode shares the socket with live peers; it is closed when the last one goes.
    if (this.mode === 'server' && this.livePeers === 0) this.releaseServerSocket();
  }

  // ------------------------------------------------------------------ server mode

  private async startServer(): Promise<void> {
    const filterAddress = this.spec.connect?.address;
    if (filterAddress !== undefined) this.filterAddresses = await this.resolveFilter(filterAddress);
    const socket = openSocket({ type: this.socketType, reuseAddr: true, lookup: literalFirstLookup });
    try {
      await bindSocket(socket, this.spec.port, this.bindAddress);
    } catch (error) {
      closeQuietly(socket);
      throw new UdpListenerStartError(
        this.context.name,
        `Could not bind to ${this.bindAddress}:${this.spec.port}`,
        error,
      );
    }
    if (this.state === 'closed') {
      closeQuietly(socket);
      throw new UdpListenerClosedError(this.context.name);
    }
    const { address, port } = socket.address();
    this.bound = { address, port };
    this.socket = socket;
    socket.on('message', this.onDatagram);
    socket.on('error', this.onSocketError);
    this.state = 'running';
  }

  private async resolveFilter(address: string): Promise<Set<string>> {
    if (isIP(address) !== 0) return new Set([unmapped(address)]);
    try {
      const resolved = await dnsLookup(address, { all: true });
      return new Set(resolved.map((entry) => unmapped(entry.address)));
    } catch (error) {
      throw new UdpListenerStartError(
        this.context.name,
        `Could not resolve peer filter address ${address}`,
        error,
      );
    }
  }

  /** The hot path: two map lookups and a call for a known peer, no allocation. */
  private readonly onDatagram = (message: Buffer, remote: RemoteInfo): void => {
    const byPort = this.peers.get(remote.address);
    const peer = byPort?.get(remote.port);
    if (peer !== undefined) peer.receive(message);
    else this.onNewPeer(message, remote, byPort);
  };

  private onNewPeer(
    message: Buffer,
    remote: RemoteInfo,
    byPort: Map<number, UdpPeerConduit> | undefined,
  ): void {
    const socket = this.socket;
    const bound = this.bound;
    if (this.state !== 'running' || socket === undefined || bound === undefined) return;
    if (!this.allows(remote)) {
      this.filtered++;
      this.context.logger.debug(
        { listener: this.context.name, peer: `${remote.address}:${remote.port}` },
        'UDP listener dropped a datagram from a peer that the connect filter does not allow',
      );
      return;
    }
    const conduit = new UdpPeerConduit(this, socket, remote.address, remote.port);
    let ports = byPort;
    if (ports === undefined) {
      ports = new Map();
      this.peers.set(remote.address, ports);
    }
    ports.set(remote.port, conduit);
    this.livePeers++;
    this.startSweeper();
    conduit.receive(message);

    const name = `UDP:${remote.address}:${remote.port}-${bound.address}:${bound.port}-${this.nextSessionId++}`;
    const metadata: SessionMetadata = {
      IP: { src_addr: remote.address, dst_addr: bound.address },
      UDP: { src_port: remote.port, dst_port: bound.port },
    };
    this.handOver({ conduit, metadata, name }, conduit);
  }

  private allows(remote: RemoteInfo): boolean {
    if (this.filterPort !== undefined && remote.port !== this.filterPort) return false;
    return this.filterAddresses === undefined || this.filterAddresses.has(unmapped(remote.address));
  }

  forget(peer: UdpPeerConduit): void {
    const ports = this.peers.get(peer.address);
    if (ports === undefined || ports.get(peer.port) !== peer) return;
    ports.delete(peer.port);
    if (ports.size === 0) this.peers.delete(peer.address);
    this.livePeers--;
    if (this.livePeers > 0) return;
    this.stopSweeper();
    if (this.state === 'closed') this.releaseServerSocket();
  }

  private releaseServerSocket(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    this.socket = undefined;
    socket.removeListener('message', this.onDatagram);
    closeQuietly(socket);
  }

  private readonly onSocketError = (error: Error): void => {
    // An unconnected socket reports little after bind; nothing here is worth losing the listener for.
    this.context.logger.warn({ listener: this.context.name, err: error }, 'UDP listener socket error');
  };

  private startSweeper(): void {
    if (this.idleTimeoutMs <= 0 || this.sweepTimer !== undefined) return;
    const interval = Math.max(1, Math.ceil(this.idleTimeoutMs / SWEEPS_PER_IDLE_TIMEOUT));
    this.sweepTimer = setInterval(this.sweep, interval);
    this.sweepTimer.unref();
  }

  private stopSweeper(): void {
    if (this.sweepTimer === undefined) return;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /**
   * One coarse timer per listener instead of a timer reset per datagram: traffic only zeroes a
   * counter, and a peer that stayed quiet for SWEEPS_PER_IDLE_TIMEOUT + 1 sweeps is closed.
   */
  private readonly sweep = (): void => {
    const expired: UdpPeerConduit[] = [];
    for (const ports of this.peers.values()) {
      for (const peer of ports.values()) {
        if (++peer.idleSweeps > SWEEPS_PER_IDLE_TIMEOUT) expired.push(peer);
      }
    }
    for (const peer of expired) {
      this.context.logger.debug(
        {
          listener: this.context.name,
          peer: `${peer.address}:${peer.port}`,
          idleTimeoutMs: this.idleTimeoutMs,
        },
        'UDP listener closed an idle peer',
      );
      peer.destroy();
    }
  };

  // ------------------------------------------------------------------ singleton mode

  private async startSingleton(): Promise<void> {
    const conduit = await this.openSingleton(this.spec.port);
    if (this.state === 'closed') {
      conduit.destroy();
      throw new UdpListenerClosedError(this.context.name);
    }
    this.state = 'running';
    this.singleton = conduit;
    const remote = this.remoteOf(conduit);
    const bound = this.bound;
    if (bound === undefined) throw new UdpListenerClosedError(this.context.name);
    const name = `UDP:${remote.address}:${remote.port}-${bound.address}:${bound.port}-${this.nextSessionId++}`;
    const metadata: SessionMetadata = {
      IP: { src_addr: remote.address, dst_addr: bound.address },
      UDP: { src_port: remote.port, dst_port: bound.port },
    };
    this.handOver({ conduit, metadata, name, reconnect: this.reconnect }, conduit);
  }

  private remoteOf(conduit: ConnectedDatagramConduit): { address: string; port: number } {
    const remote = conduit.remoteAddress();
    return remote ?? { address: this.spec.connect?.address ?? '', port: this.spec.connect?.port ?? 0 };
  }

  /** Binds `localPort` on the listener's address and connects to the configured remote. */
  private async openSingleton(localPort: number): Promise<ConnectedDatagramConduit> {
    const remoteAddress = this.spec.connect?.address ?? '';
    const remotePort = this.spec.connect?.port ?? 0;
    const socket = openSocket({ type: this.socketType, reuseAddr: true });
    try {
      await bindSocket(socket, localPort, this.bindAddress);
    } catch (error) {
      closeQuietly(socket);
      throw new UdpListenerStartError(
        this.context.name,
        `Could not bind to ${this.bindAddress}:${localPort}`,
        error,
      );
    }
    // The name and metadata use the bound address (0.0.0.0 when unspecified), read before connect
    // narrows it to the route's source address.
    if (this.bound === undefined) {
      const { address, port } = socket.address();
      this.bound = { address, port };
    }
    try {
      await connectSocket(socket, remotePort, remoteAddress);
    } catch (error) {
      closeQuietly(socket);
      throw new UdpListenerStartError(
        this.context.name,
        `Could not connect to ${remoteAddress}:${remotePort}`,
        error,
      );
    }
    return new ConnectedDatagramConduit(socket);
  }

  /**
   * Re-opens the singleton on the same local address and port (the source stage's retry).
   * Concurrent calls share one attempt, so that no second socket is left behind.
   */
  private readonly reconnect = (): Promise<Conduit> => {
    this.reconnecting ??= this.reopenSingleton().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  };

  private async reopenSingleton(): Promise<Conduit> {
    if (this.state !== 'running' || this.bound === undefined) {
      throw new UdpListenerClosedError(this.context.name);
    }
    // The old socket holds the port and, being connected, would keep the remote's datagrams.
    this.singleton?.destroy();
    this.singleton = undefined;
    const conduit = await this.openSingleton(this.bound.port);
    if (this.state !== 'running') {
      conduit.destroy();
      throw new UdpListenerClosedError(this.context.name);
    }
    this.singleton = conduit;
    return conduit;
  }

  // ------------------------------------------------------------------ both

  /** Hands a connection to the proxy; a failed routing frees the conduit (and, in server mode, the peer). */
  private handOver(connection: IncomingConnection, conduit: Conduit): void {
    const onResult = (result: AcceptResult): void => {
      if (result.ok) return;
      this.context.logger.debug(
        {
          listener: this.context.name,
          session: connection.name,
          status: result.status,
          reason: result.message,
        },
        'UDP listener: routing failed, dropping the peer',
      );
      conduit.destroy();
    };
    const onFailure = (error: unknown): void => {
      this.context.logger.warn(
        { listener: this.context.name, session: connection.name, err: error },
        'UDP listener: accept failed, dropping the peer',
      );
      conduit.destroy(toError(error));
    };
    try {
      this.context.accept(connection).then(onResult, onFailure);
    } catch (error) {
      onFailure(error);
    }
  }
}
