import { afterAll, beforeAll } from '@jest/globals';
import type { ListenerSpec } from '@l7mp/config';
import { describeTransportCompliance } from '@l7mp/core/testing';
import { wsTransport } from '../src';
import { silentServer } from './support';

// A TCP server that accepts and never answers the upgrade: the handshake cannot complete.
let silent: Awaited<ReturnType<typeof silentServer>> | undefined;
beforeAll(async () => {
  silent = await silentServer();
});
afterAll(async () => {
  await silent?.close();
});

describeTransportCompliance({
  protocol: 'WebSocket',
  kind: 'datagram',
  plugin: wsTransport,
  listenerSpec: (): ListenerSpec => ({ protocol: 'WebSocket', port: 0, address: '127.0.0.1' }),
  clusterFor: (bound) => {
    if (bound === undefined || !('port' in bound)) throw new Error('the WebSocket listener is not bound');
    return {
      spec: { protocol: 'WebSocket', port: bound.port },
      endpoint: { name: 'compliance-endpoint', spec: { address: bound.address }, weight: 1 },
    };
  },
  reportsPeerClose: true,
  // A WebSocket has no half-close: end() starts the close handshake.
  supportsHalfClose: false,
  unreachable: () => ({
    spec: { protocol: 'WebSocket', port: silent?.port ?? 1 },
    endpoint: { name: 'unreachable', spec: { address: '127.0.0.1' }, weight: 1 },
  }),
});
