import type { ClusterFactory, ListenerFactory, TransportPlugin } from '@l7mp/core';
import { UdpCluster } from './cluster';
import { UdpListener } from './listener';

export { UdpListener, udpListenerMode, type UdpListenerMode, type UdpListenerSpec } from './listener';
export { UdpCluster, type UdpClusterOptions, type UdpClusterSpec } from './cluster';
export { ConnectedDatagramConduit, UdpPeerConduit } from './conduits';
export type { DgramLookup } from './socket';
export {
  SINGLETON_WITHOUT_REMOTE,
  UdpListenerClosedError,
  UdpListenerConfigError,
  UdpListenerStartError,
} from './errors';

export const udpListenerFactory: ListenerFactory = {
  protocol: 'UDP',
  create: (context) => new UdpListener(context),
};

export const udpClusterFactory: ClusterFactory = {
  protocol: 'UDP',
  create: (context) => new UdpCluster(context),
};

/** UDP for l7mp: register with `createProxy({ transports: [udpTransport] })`. */
export const udpTransport: TransportPlugin = {
  name: 'udp',
  listeners: [udpListenerFactory],
  clusters: [udpClusterFactory],
};
