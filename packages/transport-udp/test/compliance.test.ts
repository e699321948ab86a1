import type { ListenerSpec } from '@l7mp/config';
import { describeTransportCompliance, type BoundAddress } from '@l7mp/core/testing';
import { udpTransport } from '../src';

function portOf(bound: BoundAddress): { address: string; port: number } {
  if (bound === undefined || !('port' in bound)) throw new Error('the UDP listener reported no address');
  return bound;
}

describeTransportCompliance({
  protocol: 'UDP',
  kind: 'datagram',
  plugin: udpTransport,
  listenerSpec: (): ListenerSpec => ({ protocol: 'UDP', port: 0, address: '127.0.0.1' }),
  clusterFor: (bound) => {
    const { address, port } = portOf(bound);
    return {
      spec: { protocol: 'UDP', port },
      endpoint: { name: 'udp-endpoint', spec: { address }, weight: 1 },
    };
  },
  // Connectionless: a destroyed peer sends nothing, and a connect succeeds whether or not anyone listens.
  reportsPeerClose: false,
  supportsHalfClose: false,
  refusesWhenNothingListens: false,
});
