import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ListenerSpecOf } from '@l7mp/config';
import {
  connectionEndpoints,
  httpMetadata,
  L7mpError,
  listenOn,
  requestPathname,
  type AcceptResult,
  type IncomingConnection,
  type ListenerContext,
  type ListenerTransport,
} from '@l7mp/core';
import { WebSocketServer, type WebSocket } from 'ws';
import { closeReason, WebSocketConduit } from './conduit';
import type { WebSocketOptions } from './options';

type WebSocketListenerSpec = ListenerSpecOf<'WebSocket'>;

// Application close codes (4000-4999) carry the HTTP-like status of a routing failure.
const APPLICATION_CLOSE_BASE = 4000;
const INTERNAL_ERROR = 1011;

function rejectCloseCode(status: number): number {
  return Number.isInteger(status) && status >= 100 && status <= 999
    ? APPLICATION_CLOSE_BASE + status
    : INTERNAL_ERROR;
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Accepts WebSocket connections on its own HTTP server; each connection is one session whose
 * conduit carries one message per chunk.
 */
export class WebSocketListener implements ListenerTransport {
  readonly kind = 'datagram' as const;
  private readonly context: ListenerContext;
  private readonly spec: WebSocketListenerSpec;
  private readonly options: Required<WebSocketOptions>;
  private readonly label: string;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private nextId = 0;

  constructor(context: ListenerContext, options: Required<WebSocketOptions>) {
    if (context.spec.protocol !== 'WebSocket') {
      throw new L7mpError(
        `WebSocket listener "${context.name}": spec has protocol ${context.spec.protocol}`,
        {
          status: 400,
        },
      );
    }
    this.context = context;
    this.spec = context.spec;
    this.options = options;
    this.label = `WebSocket listener "${context.name}"`;
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer();
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayload,
      perMessageDeflate: false,
    });
    server.on('upgrade', this.onUpgrade);
    server.on('request', (_request, response) => {
      response.writeHead(426, { Connection: 'close', 'Content-Length': '0', Upgrade: 'websocket' });
      response.end();
    });
    await listenOn(server, this.label, this.spec.port, this.spec.address);
    server.on('error', (error) => this.context.logger.error({ err: error }, `${this.label}: server error`));
    this.server = server;
    this.wss = wss;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.wss?.close();
    this.wss = undefined;
    // Upgraded connections are live sessions and stay open; only the listening socket goes.
    server.close();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  address(): { address: string; port: number } | undefined {
    const bound = this.server?.address();
    return bound !== null && typeof bound === 'object'
      ? { address: bound.address, port: bound.port }
      : undefined;
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const wss = this.wss;
    if (wss === undefined) {
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    const path = this.spec.path;
    if (path !== undefined && requestPathname(request.url ?? '/') !== path) {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, request));
  };

  private onConnection(ws: WebSocket, request: IncomingMessage): void {
    const id = this.nextId++;
    const peer = connectionEndpoints(request);
    const name = `WS:${peer.remoteAddress}:${peer.remotePort}-${peer.localAddress}:${peer.localPort}-${id}`;
    const conduit = new WebSocketConduit(
      ws,
      `${this.label}: session ${name}`,
      this.options.highWaterMark,
      request.socket,
    );
    const connection: IncomingConnection = {
      conduit,
      name,
      metadata: {
        IP: { src_addr: peer.remoteAddress, dst_addr: peer.localAddress },
        TCP: { src_port: peer.remotePort, dst_port: peer.localPort },
        HTTP: httpMetadata(request),
      },
      reject: (result: AcceptResult) => {
        if (conduit.closed) return;
        ws.close(rejectCloseCode(result.status), closeReason(result.message));
      },
    };
    this.context.accept(connection).then(
      (result) => {
        if (!result.ok && !conduit.closed) connection.reject?.(result);
      },
      (error: unknown) => {
        this.context.logger.error({ err: error }, `${this.label}: accepting session ${name} failed`);
        conduit.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }
}
