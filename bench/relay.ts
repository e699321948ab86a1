/**
 * The bare relay: the least a Node UDP proxy has to do. One listening socket; per client peer one
 * upstream socket connected to the echo; replies go back through the listening socket. Peers
 * quiet for the idle timeout are dropped (so that churn runs do not pile up sockets). It looks a
 * peer up with the same two-level map (address, then port) as the l7mp UDP listener.
 * Usage: relay.ts <upstream-port> <idle-timeout-ms>; prints "listening <port>" on stdout.
 */
import { createSocket, type RemoteInfo, type Socket, type SocketOptions } from 'node:dgram';

const literalLookup: NonNullable<SocketOptions['lookup']> = (hostname, _options, callback) =>
  callback(null, hostname, 4);

const upstreamPort = Number(process.argv[2]);
const idleTimeoutMs = Number(process.argv[3] ?? '30000');
if (!Number.isInteger(upstreamPort) || upstreamPort <= 0 || !(idleTimeoutMs > 0)) {
  process.stderr.write('usage: relay.ts <upstream-port> <idle-timeout-ms>\n');
  process.exit(2);
}

interface Peer {
  address: string;
  port: number;
  upstream: Socket;
  /** Datagrams that arrived before the upstream socket was connected. */
  pending: Buffer[] | undefined;
  idleSweeps: number;
}

const SWEEPS = 4;
const peers = new Map<string, Map<number, Peer>>();
const listener = createSocket({ type: 'udp4', lookup: literalLookup });

function newPeer(remote: RemoteInfo): Peer {
  const upstream = createSocket({ type: 'udp4', lookup: literalLookup });
  const peer: Peer = { address: remote.address, port: remote.port, upstream, pending: [], idleSweeps: 0 };
  upstream.on('message', (reply: Buffer) => {
    peer.idleSweeps = 0;
    listener.send(reply, peer.port, peer.address);
  });
  upstream.on('error', () => undefined);
  upstream.connect(upstreamPort, '127.0.0.1', () => {
    const queued = peer.pending ?? [];
    peer.pending = undefined;
    for (const message of queued) upstream.send(message);
  });
  return peer;
}

listener.on('message', (message: Buffer, remote: RemoteInfo) => {
  let ports = peers.get(remote.address);
  let peer = ports?.get(remote.port);
  if (peer === undefined) {
    if (ports === undefined) {
      ports = new Map();
      peers.set(remote.address, ports);
    }
    peer = newPeer(remote);
    ports.set(remote.port, peer);
  }
  peer.idleSweeps = 0;
  if (peer.pending !== undefined) peer.pending.push(message);
  else peer.upstream.send(message);
});
listener.on('error', (error) => process.stderr.write(`relay: ${error.message}\n`));

setInterval(
  () => {
    for (const [address, ports] of peers) {
      for (const [port, peer] of ports) {
        if (++peer.idleSweeps <= SWEEPS) continue;
        ports.delete(port);
        peer.upstream.close();
      }
      if (ports.size === 0) peers.delete(address);
    }
  },
  Math.ceil(idleTimeoutMs / SWEEPS),
).unref();

listener.bind({ port: 0, address: '127.0.0.1' }, () => {
  process.stdout.write(`listening ${listener.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
