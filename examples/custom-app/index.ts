/**
 * A UDP-to-WebSocket bridge built from the l7mp packages: every UDP peer that sends to the
 * bridge gets its own WebSocket connection to the upstream, each datagram becomes one
 * WebSocket message and each message that comes back becomes one datagram to that peer.
 */
import { createProxy, type Logger, type Proxy } from '@l7mp/core';
import { udpTransport } from '@l7mp/transport-udp';
import { wsTransport } from '@l7mp/transport-ws';

export interface BridgeOptions {
  /** UDP port to listen on; 0 picks a free one (see `Bridge.udpPort`). */
  udpPort: number;
  /** Local address to bind; all IPv4 interfaces by default. */
  udpAddress?: string;
  /** The WebSocket server to bridge to, e.g. `ws://127.0.0.1:8080/ingest`. */
  upstream: string;
  /** Forget a UDP peer after this many ms without traffic (default 60 s; 0: never). */
  idleTimeoutMs?: number;
  logger?: Logger;
}

export interface Bridge {
  proxy: Proxy;
  /** The UDP port the bridge listens on (the chosen one when `udpPort` was 0). */
  udpPort: number;
  /** Ends every session and releases every socket. */
  close(): Promise<void>;
}

/** Splits `ws://host:port/path` into what a WebSocket cluster spec needs. */
function upstreamTarget(upstream: string): { host: string; port: number; path: string } {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new Error(`Bridge upstream ${JSON.stringify(upstream)} is not a URL like ws://host:port/path`);
  }
  if (url.protocol !== 'ws:') {
    throw new Error(`Bridge upstream ${JSON.stringify(upstream)} must be a ws:// URL`);
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 80 : Number(url.port),
    path: `${url.pathname}${url.search}`,
  };
}

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const target = upstreamTarget(options.upstream);
  const proxy = createProxy({
    transports: [udpTransport, wsTransport],
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  try {
    await proxy.applyConfig({
      clusters: [
        {
          name: 'upstream',
          spec: { protocol: 'WebSocket', port: target.port, path: target.path },
          endpoints: [{ name: 'upstream-0', spec: { address: target.host } }],
        },
      ],
      listeners: [
        {
          name: 'udp-in',
          spec: {
            protocol: 'UDP',
            port: options.udpPort,
            ...(options.udpAddress !== undefined ? { address: options.udpAddress } : {}),
            options: { mode: 'server', idle_timeout: options.idleTimeoutMs ?? 60_000 },
          },
          rules: [
            {
              action: {
                route: {
                  destination: 'upstream',
                  // Try the upstream three more times, 1 s apart, at setup and after a drop.
                  retry: { retry_on: 'always', num_retries: 3, timeout: 1000 },
                },
              },
            },
          ],
        },
      ],
    });
  } catch (error) {
    await proxy.close();
    throw error;
  }
  const bound = proxy.listenerAddress('udp-in');
  if (bound === undefined || !('port' in bound)) {
    await proxy.close();
    throw new Error('Bridge: the UDP listener did not report its address');
  }
  return { proxy, udpPort: bound.port, close: () => proxy.close() };
}
