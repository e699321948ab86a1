import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { isIPv6, type Socket } from 'node:net';
import type { ClusterSpecOf } from '@l7mp/config';
import {
  ConnectError,
  ConnectTimeoutError,
  L7mpError,
  type ClusterContext,
  type ClusterTransport,
  type Conduit,
  type ConnectRequest,
  type SessionMetadata,
} from '@l7mp/core';
import { WebSocket } from 'ws';
import { WebSocketConduit } from './conduit';
import type { WebSocketOptions } from './options';

type WebSocketClusterSpec = ClusterSpecOf<'WebSocket'>;

// Headers that describe one hop (RFC 9110 §7.6.1) or that ws computes itself.
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Request headers and subprotocols to pass on, taken from the session's HTTP metadata if any. */
export function forwardedHandshake(metadata: SessionMetadata): {
  headers: OutgoingHttpHeaders;
  protocols: string[];
} {
  const headers: OutgoingHttpHeaders = {};
  const protocols: string[] = [];
  const source = record(record(metadata.HTTP)?.headers);
  if (source === undefined) return { headers, protocols };
  for (const [rawName, value] of Object.entries(source)) {
    const name = rawName.toLowerCase();
    if (name === 'sec-websocket-protocol') {
      const offered = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
      for (const protocol of offered.split(',')) {
        const trimmed = protocol.trim();
        if (trimmed !== '') protocols.push(trimmed);
      }
      continue;
    }
    if (NOT_FORWARDED.has(name) || name.startsWith('sec-websocket-')) continue;
    if (typeof value === 'string' || typeof value === 'number') headers[name] = value;
    else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) headers[name] = value;
  }
  return { headers, protocols };
}

/** The request path: the spec's, else the path the client asked for (HTTP metadata), else `/`. */
function requestPath(spec: WebSocketClusterSpec, metadata: SessionMetadata): string {
  const path = spec.path ?? record(record(metadata.HTTP)?.url)?.path;
  if (typeof path !== 'string' || path === '') return '/';
  return path.startsWith('/') ? path : `/${path}`;
}

/**
 * Opens a WebSocket to the endpoint the load balancer chose. Unlike the anchor, metadata never
 * redirects the connection to another host or port: `HTTP.url.host` is ignored.
 */
export class WebSocketCluster implements ClusterTransport {
  readonly kind = 'datagram' as const;
  readonly virtual = false;
  readonly retriable = true;
  private readonly spec: WebSocketClusterSpec;
  private readonly label: string;
  private readonly options: Required<WebSocketOptions>;

  constructor(context: ClusterContext, options: Required<WebSocketOptions>) {
    if (context.spec.protocol !== 'WebSocket') {
      throw new L7mpError(`WebSocket cluster "${context.name}": spec has protocol ${context.spec.protocol}`, {
        status: 400,
      });
    }
    this.spec = context.spec;
    this.label = `WebSocket cluster "${context.name}"`;
    this.options = options;
  }

  connect(request: ConnectRequest): Promise<Conduit> {
    const endpoint = request.endpoint;
    if (endpoint === undefined)
      return Promise.reject(new ConnectError(`${this.label}: no endpoint to connect to`));
    const what = `${this.label}: endpoint "${endpoint.name}"`;
    const address = endpoint.spec.address;
    if (typeof address !== 'string' || address === '') {
      return Promise.reject(new ConnectError(`${what}: the endpoint has no address`));
    }
    const port = typeof endpoint.spec.port === 'number' ? endpoint.spec.port : this.spec.port;
    const host = isIPv6(address) ? `[${address}]` : address;
    const url = `ws://${host}:${port}${requestPath(this.spec, request.metadata)}`;
    const target = `${what} (${url})`;
    if (request.signal.aborted) return Promise.reject(new ConnectError(`${target}: connect aborted`));

    const { headers, protocols } = forwardedHandshake(request.metadata);
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, protocols, {
        headers,
        maxPayload: this.options.maxPayload,
        perMessageDeflate: false,
        ...(this.spec.bind?.address !== undefined ? { localAddress: this.spec.bind.address } : {}),
      });
    } catch (error) {
      return Promise.reject(new ConnectError(`${target}: ${(error as Error).message}`, { cause: error }));
    }
    return this.handshake(ws, target, request);
  }

  private handshake(ws: WebSocket, target: string, request: ConnectRequest): Promise<Conduit> {
    return new Promise<Conduit>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        cleanup();
        ws.terminate();
        reject(error);
      };
      let socket: Socket | undefined;
      const onUpgrade = (response: IncomingMessage): void => {
        socket = response.socket;
      };
      const onOpen = (): void => {
        if (settled) return;
        settled = true;
        cleanup();
        ws.removeListener('error', onError);
        resolve(new WebSocketConduit(ws, target, this.options.highWaterMark, socket));
      };
      // Stays attached after a failure: terminate() reports one more error asynchronously.
      const onError = (error: Error): void =>
        fail(new ConnectError(`${target}: ${error.message}`, { cause: error }));
      const onUnexpectedResponse = (_request: ClientRequest, response: IncomingMessage): void => {
        response.resume();
        const status = response.statusCode ?? 0;
        fail(new ConnectError(`${target}: server answered the upgrade with HTTP ${status}`, { status: 502 }));
      };
      const onClose = (): void => fail(new ConnectError(`${target}: connection closed during the handshake`));
      const onAbort = (): void => fail(new ConnectError(`${target}: connect aborted`));
      const timer = setTimeout(
        () => fail(new ConnectTimeoutError(target, request.timeoutMs)),
        request.timeoutMs,
      );
      const cleanup = (): void => {
        clearTimeout(timer);
        request.signal.removeEventListener('abort', onAbort);
        ws.removeListener('upgrade', onUpgrade);
        ws.removeListener('open', onOpen);
        ws.removeListener('unexpected-response', onUnexpectedResponse);
        ws.removeListener('close', onClose);
      };
      ws.on('upgrade', onUpgrade);
      ws.on('open', onOpen);
      ws.on('error', onError);
      ws.on('unexpected-response', onUnexpectedResponse);
      ws.on('close', onClose);
      request.signal.addEventListener('abort', onAbort);
    });
  }
}
