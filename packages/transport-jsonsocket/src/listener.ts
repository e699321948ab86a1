import type { ListenerSpec, ListenerSpecOf } from '@l7mp/config';
import {
  L7mpError,
  type AcceptResult,
  type IncomingConnection,
  type ListenerContext,
  type ListenerTransport,
} from '@l7mp/core';
import { JSONSocketConduit } from './conduit';
import { describeFailure, encodeResponse, OK_RESPONSE, parseRequestHeader, type JSONObject } from './header';

type JSONSocketListenerSpec = ListenerSpecOf<'JSONSocket'>;

export const DEFAULT_HEADER_TIMEOUT_MS = 5000;

/** The JSONSocket listener cannot work over the transport it was given. */
export class JSONSocketTransportError extends L7mpError {
  constructor(message: string, cause?: unknown) {
    super(message, { status: 400, ...(cause !== undefined ? { cause } : {}) });
  }
}

/**
 * Runs an inner listener (UDP, WebSocket, a message-preserving Unix or framed TCP socket) and
 * turns each of its connections into a JSONSocket session once the client's header checks out.
 */
export class JSONSocketListener implements ListenerTransport {
  readonly kind = 'datagram' as const;
  private readonly context: ListenerContext;
  private readonly spec: JSONSocketListenerSpec;
  private readonly label: string;
  private readonly headerTimeoutMs: number;
  private inner: ListenerTransport | undefined;
  private nextId = 0;

  constructor(context: ListenerContext) {
    if (context.spec.protocol !== 'JSONSocket') {
      throw new L7mpError(
        `JSONSocket listener "${context.name}": spec has protocol ${context.spec.protocol}`,
        {
          status: 400,
        },
      );
    }
    this.context = context;
    this.spec = context.spec;
    this.label = `JSONSocket listener "${context.name}"`;
    this.headerTimeoutMs = this.spec.header_timeout ?? DEFAULT_HEADER_TIMEOUT_MS;
  }

  async start(): Promise<void> {
    if (this.inner !== undefined) return;
    const transportSpec: ListenerSpec = this.spec.transport;
    let inner: ListenerTransport;
    try {
      inner = this.context.transports.createListener({
        name: `${this.context.name}-transport-listener`,
        spec: transportSpec,
        logger: this.context.logger,
        transports: this.context.transports,
        accept: this.intercept,
      });
    } catch (error) {
      throw new JSONSocketTransportError(
        `${this.label}: cannot create the ${transportSpec.protocol} transport: ${(error as Error).message}`,
        error,
      );
    }
    if (inner.kind !== 'datagram') {
      throw new JSONSocketTransportError(
        `${this.label}: the ${transportSpec.protocol} transport is a byte stream, but the JSONSocket header ` +
          'needs message boundaries; use UDP, WebSocket, a seqpacket/dgram Unix socket or a framed stream',
      );
    }
    await inner.start();
    this.inner = inner;
  }

  /** Closes the inner listener; sessions and handshakes in progress are left alone. */
  async close(): Promise<void> {
    const inner = this.inner;
    this.inner = undefined;
    await inner?.close();
  }

  address(): { address: string; port: number } | { path: string } | undefined {
    return this.inner?.address?.();
  }

  /** Every connection of the inner listener comes here instead of going to the proxy. */
  private readonly intercept = (incoming: IncomingConnection): Promise<AcceptResult> => {
    const conduit = new JSONSocketConduit(incoming.conduit, { holdWrites: true });
    return new Promise<AcceptResult>((resolve) => {
      const refuse = (status: number, message: string): void => {
        conduit.refuse(encodeResponse(status, message));
        resolve({ ok: false, status, message });
      };
      const timer = setTimeout(() => {
        conduit.stopWaiting();
        refuse(408, `Request Timeout: no JSONSocket header within ${this.headerTimeoutMs} ms`);
      }, this.headerTimeoutMs);
      conduit.expectHeader({
        header: (message) => {
          clearTimeout(timer);
          const verdict = parseRequestHeader(message);
          if (!verdict.ok) refuse(verdict.status, verdict.message);
          else resolve(this.acceptSession(incoming, conduit, verdict.header));
        },
        closed: () => {
          clearTimeout(timer);
          resolve({
            ok: false,
            status: 400,
            message: 'Bad Request: the connection closed before the JSONSocket header',
          });
        },
      });
    });
  };

  private async acceptSession(
    incoming: IncomingConnection,
    conduit: JSONSocketConduit,
    header: JSONObject,
  ): Promise<AcceptResult> {
    const name = `JSONSocket:${this.context.name}-${this.nextId++}`;
    const reject = (result: AcceptResult): void => {
      conduit.refuse(encodeResponse(result.status, describeFailure(result.message, result.content)));
    };
    const established = (): void => {
      if (conduit.accept(OK_RESPONSE)) incoming.established?.();
    };
    const connection: IncomingConnection = {
      conduit,
      name,
      metadata: { ...incoming.metadata, JSONSocket: header },
      reject,
      established,
    };
    let result: AcceptResult;
    try {
      result = await this.context.accept(connection);
    } catch (error) {
      this.context.logger.error({ err: error }, `${this.label}: accepting session ${name} failed`);
      result = {
        ok: false,
        status: 500,
        message: 'Internal Server Error',
        content: (error as Error).message,
      };
    }
    // Whatever the proxy already did, the client gets exactly one answer.
    if (result.ok) established();
    else reject(result);
    return result;
  }
}
