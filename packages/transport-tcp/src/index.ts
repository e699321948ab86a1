import type { TransportPlugin } from '@l7mp/core';
import { TcpCluster } from './cluster';
import { TcpListener } from './listener';

export { TcpCluster } from './cluster';
export { TcpListener } from './listener';
export { TcpListenError } from './errors';

/** The TCP listener and cluster, to be registered into a proxy. */
export const tcpTransport: TransportPlugin = {
  name: 'tcp',
  listeners: [{ protocol: 'TCP', create: (context) => new TcpListener(context) }],
  clusters: [{ protocol: 'TCP', create: (context) => new TcpCluster(context) }],
};
