import { describeTransportCompliance } from '@l7mp/core/testing';
import { tcpTransport } from '@l7mp/transport-tcp';

function address(bound: { address: string; port: number } | { path: string } | undefined) {
  if (bound === undefined || !('port' in bound)) throw new Error('TCP listener bound no port');
  return bound;
}

describeTransportCompliance({
  protocol: 'TCP',
  kind: 'byte-stream',
  plugin: tcpTransport,
  listenerSpec: () => ({ protocol: 'TCP', port: 0, address: '127.0.0.1' }),
  clusterFor: (bound) => ({
    spec: { protocol: 'TCP', port: address(bound).port },
    endpoint: { name: 'loopback', spec: { address: '127.0.0.1' }, weight: 1 },
  }),
  // A closed TCP peer only sends FIN, which is indistinguishable from a half-close.
  reportsPeerClose: false,
  supportsHalfClose: true,
});

describeTransportCompliance({
  protocol: 'TCP',
  kind: 'datagram',
  plugin: tcpTransport,
  listenerSpec: () => ({ protocol: 'TCP', port: 0, address: '127.0.0.1', framing: 'length-prefixed' }),
  clusterFor: (bound) => ({
    spec: { protocol: 'TCP', port: address(bound).port, framing: 'length-prefixed' },
    endpoint: { name: 'loopback', spec: { address: '127.0.0.1' }, weight: 1 },
  }),
  reportsPeerClose: false,
  supportsHalfClose: true,
});
