import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll } from '@jest/globals';
import type { ListenerSpec } from '@l7mp/config';
import { describeTransportCompliance } from '@l7mp/core/testing';
import { wsTransport } from '@l7mp/transport-ws';
import { jsonSocketTransport } from '../src';

// A TCP server that accepts and never answers: the WebSocket handshake underneath cannot complete.
const silentSockets = new Set<Socket>();
const silent = createServer((socket) => {
  silentSockets.add(socket);
  socket.on('error', () => {});
});
let silentPort = 1;
beforeAll(async () => {
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const address = silent.address();
  if (address !== null && typeof address === 'object') silentPort = address.port;
});
afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  silent.close();
  await once(silent, 'close');
});

const listenerSpec = (port: number): ListenerSpec => ({
  protocol: 'JSONSocket',
  transport: { protocol: 'WebSocket', port, address: '127.0.0.1' },
});

describeTransportCompliance({
  protocol: 'JSONSocket',
  kind: 'datagram',
  plugin: jsonSocketTransport,
  dependencies: [wsTransport],
  listenerSpec: () => listenerSpec(0),
  clusterFor: (bound) => {
    if (bound === undefined || !('port' in bound)) throw new Error('the JSONSocket listener is not bound');
    return {
      spec: { protocol: 'JSONSocket', transport: { protocol: 'WebSocket', port: bound.port } },
      endpoint: { name: 'compliance-endpoint', spec: { address: bound.address }, weight: 1 },
    };
  },
  rebindSpec: (_spec, bound) => listenerSpec(bound !== undefined && 'port' in bound ? bound.port : 0),
  unreachable: () => ({
    spec: { protocol: 'JSONSocket', transport: { protocol: 'WebSocket', port: silentPort } },
    endpoint: { name: 'unreachable', spec: { address: '127.0.0.1' }, weight: 1 },
  }),
  reportsPeerClose: true,
  supportsHalfClose: false,
});
