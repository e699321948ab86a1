import { createServer, type Server, type Socket } from 'node:net';
import type { ListenerSpecOf } from '@l7mp/config';
import {
  type AcceptResult,
  createFramer,
  type Framer,
  type IncomingConnection,
  type ListenerContext,
  type ListenerTransport,
  NetSocketConduit,
  type StreamKind,
} from '@l7mp/core';
import { TcpListenError } from './errors';

type TcpListenerSpec = ListenerSpecOf<'TCP'>;

/**
 * Accepts TCP connections on `spec.address:spec.port` (all interfaces when no address is given)
 * and hands each one to the proxy as a session. With `spec.framing` the sessions carry whole
 * messages instead of raw bytes.
 */
export class TcpListener implements ListenerTransport {
  readonly kind: StreamKind;
  private readonly spec: TcpListenerSpec;
  private readonly framer: Framer | undefined;
  private server: Server | undefined;
  private nextId = 0;

  constructor(private readonly context: ListenerContext) {
    if (context.spec.protocol !== 'TCP') {
      throw new TypeError(`TCP listener "${context.name}" was given a ${context.spec.protocol} spec`);
    }
    this.spec = context.spec;
    this.framer = createFramer(this.spec.framing);
    this.kind = this.framer === undefined ? 'byte-stream' : 'datagram';
  }

  start(): Promise<void> {
    if (this.server !== undefined) return Promise.resolve();
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    const where = `${this.spec.address ?? '*'}:${this.spec.port}`;
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        server.close();
        reject(
          new TcpListenError(
            `TCP listener "${this.context.name}": cannot listen on ${where}: ${error.message}`,
            error,
          ),
        );
      };
      server.once('error', onError);
      server.listen({ port: this.spec.port, host: this.spec.address }, () => {
        server.removeListener('error', onError);
        server.on('error', (error) =>
          this.context.logger.error({ err: error, listener: this.context.name }, 'TCP listener error'),
        );
        server.on('connection', (socket: Socket) => this.onConnection(socket));
        this.server = server;
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    // Closing the handle frees the port at once; the close callback would wait for every live
    // session to end, which the contract says we must not touch.
    server?.close();
    return Promise.resolve();
  }

  address(): { address: string; port: number } | undefined {
    const bound = this.server?.address();
    if (bound === null || bound === undefined || typeof bound === 'string') return undefined;
    return { address: bound.address, port: bound.port };
  }

  private onConnection(socket: Socket): void {
    const { remoteAddress, remotePort, localAddress, localPort } = socket;
    if (remoteAddress === undefined || remotePort === undefined) {
      // The peer reset the connection before we saw it: there is nobody to serve.
      socket.destroy();
      return;
    }
    const id = this.nextId++;
    const conduit = new NetSocketConduit(socket, { framer: this.framer });
    const connection: IncomingConnection = {
      conduit,
      name: `TCP:${remoteAddress}:${remotePort}-${localAddress}:${localPort}-${id}`,
      metadata: {
        IP: { src_addr: remoteAddress, dst_addr: localAddress },
        TCP: { src_port: remotePort, dst_port: localPort },
      },
    };
    this.context.accept(connection).then(
      (result: AcceptResult) => {
        if (!result.ok) conduit.destroy();
      },
      (error: unknown) => {
        this.context.logger.error({ err: error, listener: this.context.name }, 'TCP session setup failed');
        conduit.destroy();
      },
    );
  }
}
