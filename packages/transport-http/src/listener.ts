import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ListenerSpecOf } from '@l7mp/config';
import {
  L7mpError,
  listenOn,
  type AcceptResult,
  type IncomingConnection,
  type ListenerContext,
  type ListenerTransport,
} from '@l7mp/core';
import { HttpConduit } from './conduit';
import { httpMetadata, requestPathname } from '@l7mp/core';
import { sendJsonResult } from './response';

type HTTPListenerSpec = ListenerSpecOf<'HTTP'>;

/**
 * An HTTP server whose every request is one session: the request body flows to the route and
 * what comes back is the response body. Routing failures are answered as JSON
 * `{status, message, content}`.
 */
export class HttpListener implements ListenerTransport {
  readonly kind = 'byte-stream' as const;
  private readonly context: ListenerContext;
  private readonly spec: HTTPListenerSpec;
  private readonly label: string;
  private server: Server | undefined;
  // The last server closed, kept so that its remaining keep-alive connections can be dropped.
  private closedServer: Server | undefined;
  private closing = false;
  private nextId = 0;

  constructor(context: ListenerContext) {
    if (context.spec.protocol !== 'HTTP') {
      throw new L7mpError(`HTTP listener "${context.name}": spec has protocol ${context.spec.protocol}`, {
        status: 400,
      });
    }
    this.context = context;
    this.spec = context.spec;
    this.label = `HTTP listener "${context.name}"`;
  }

  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const server = createServer(this.onRequest);
    await listenOn(server, this.label, this.spec.port, this.spec.address);
    server.on('error', (error) => this.context.logger.error({ err: error }, `${this.label}: server error`));
    this.closing = false;
    this.server = server;
  }

  /**
   * Stops listening and drops idle keep-alive connections at once; requests in flight finish and
   * their connections are closed right after, so nothing keeps the port's sockets alive.
   */
  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    this.closedServer = server;
    this.closing = true;
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

  private readonly onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    if (this.closing) {
      // A request on a keep-alive connection that outlived the listener.
      response.shouldKeepAlive = false;
      sendJsonResult(response, {
        status: 503,
        message: 'Service Unavailable',
        content: `${this.label} is closed`,
      });
      return;
    }
    const path = this.spec.path;
    if (path !== undefined && requestPathname(request.url ?? '/') !== path) {
      sendJsonResult(response, {
        status: 404,
        message: 'Not Found',
        content: `${this.label} serves only ${path}`,
      });
      request.resume();
      return;
    }
    this.startSession(request, response);
  };

  private startSession(request: IncomingMessage, response: ServerResponse): void {
    response.on('finish', this.onResponseFinish);
    const socket = request.socket;
    const remoteAddress = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    const localAddress = socket.localAddress ?? '';
    const localPort = socket.localPort ?? 0;
    const name = `HTTP:${remoteAddress}:${remotePort}-${localAddress}:${localPort}-${this.nextId++}`;
    const conduit = new HttpConduit(request, response, `${this.label}: session ${name}`);
    const reject = (result: AcceptResult): void => {
      sendJsonResult(response, result);
      // The body is of no use any more; read it away so the connection can be reused.
      request.resume();
    };
    const connection: IncomingConnection = {
      conduit,
      name,
      metadata: {
        IP: { src_addr: remoteAddress, dst_addr: localAddress },
        TCP: { src_port: remotePort, dst_port: localPort },
        HTTP: httpMetadata(request),
      },
      reject,
    };
    this.context.accept(connection).then(
      (result) => {
        if (!result.ok && !response.headersSent) reject(result);
      },
      (error: unknown) => {
        this.context.logger.error({ err: error }, `${this.label}: accepting session ${name} failed`);
        const message = error instanceof Error ? error.message : String(error);
        conduit.destroy(new L7mpError(message, { status: 500, cause: error }));
      },
    );
  }

  private readonly onResponseFinish = (): void => {
    // After close() a finished exchange leaves an idle keep-alive connection behind: drop it.
    if (this.closing) setImmediate(this.closeIdle);
  };

  private readonly closeIdle = (): void => {
    this.closedServer?.closeIdleConnections();
  };
}
