import type { TransportPlugin } from '@l7mp/core';
import { WebSocketCluster } from './cluster';
import { WebSocketListener } from './listener';
import { resolveOptions, type WebSocketOptions } from './options';

export { WebSocketConduit, closeReason, DEFAULT_HIGH_WATER_MARK } from './conduit';
export { WebSocketClosedError } from './errors';
export { WebSocketListener } from './listener';
export { ListenError } from '@l7mp/core';
export { WebSocketCluster, forwardedHandshake } from './cluster';
export { parseRequestTarget, type HttpMetadata, type HttpUrlMetadata } from '@l7mp/core';
export { DEFAULT_MAX_PAYLOAD, type WebSocketOptions } from './options';

/** Builds the WebSocket transport with non-default limits. */
export function createWebSocketTransport(options: WebSocketOptions = {}): TransportPlugin {
  const resolved = resolveOptions(options);
  return {
    name: 'websocket',
    listeners: [{ protocol: 'WebSocket', create: (context) => new WebSocketListener(context, resolved) }],
    clusters: [{ protocol: 'WebSocket', create: (context) => new WebSocketCluster(context, resolved) }],
  };
}

/** The WebSocket transport (protocol `WebSocket`): listener and cluster. */
export const wsTransport: TransportPlugin = createWebSocketTransport();
