import type { TransportPlugin } from '@l7mp/core';
import { UdsCluster } from './cluster';
import { createUdsListener } from './listener';

export { UdsCluster } from './cluster';
export { createUdsListener, DgramUdsListener, SeqpacketUdsListener, StreamUdsListener } from './listener';
export { DgramClientConduit, DgramPeerConduit } from './dgram';
export { SeqpacketConduit } from './seqpacket';
export { claimSocketPath, probeSocketFile, removeSocketFile, type SocketFileState } from './socket-file';
export { UdsListenError } from './errors';

/** The UnixDomainSocket listener and cluster (stream, seqpacket, dgram), to be registered into a proxy. */
export const udsTransport: TransportPlugin = {
  name: 'uds',
  listeners: [{ protocol: 'UnixDomainSocket', create: createUdsListener }],
  clusters: [{ protocol: 'UnixDomainSocket', create: (context) => new UdsCluster(context) }],
};
