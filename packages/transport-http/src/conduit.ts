import type { IncomingMessage, ServerResponse } from 'node:http';
import { BaseConduit, L7mpError, type ResponseHead } from '@l7mp/core';
import { sendJsonResult } from './response';

/** The client went away before the response was complete. */
export class HttpAbortedError extends L7mpError {
  constructor(what: string) {
    super(`${what}: the client closed the connection before the response was complete`, { status: 499 });
  }
}

/**
 * One HTTP request/response exchange as a byte-stream conduit: the request body is the data
 * that flows in, writes become the response body. `writeHead` sets status and headers; without
 * it the response is a plain 200.
 */
export class HttpConduit extends BaseConduit {
  readonly kind = 'byte-stream' as const;
  private readonly request: IncomingMessage;
  private readonly response: ServerResponse;
  private readonly label: string;

  constructor(request: IncomingMessage, response: ServerResponse, label: string) {
    super();
    this.request = request;
    this.response = response;
    this.label = label;
    request.on('data', this.onRequestData);
    request.on('end', this.onRequestEnd);
    // 'aborted' and friends also surface as 'close' on the response; this only keeps them handled.
    request.on('error', this.onRequestError);
    response.on('error', this.onRequestError);
    response.on('drain', this.onDrain);
    response.on('close', this.onResponseClose);
  }

  writeHead(head: ResponseHead): void {
    if (this.closed || this.response.headersSent) return;
    try {
      this.response.writeHead(head.status, head.headers);
    } catch (error) {
      this.destroy(
        new L7mpError(`${this.label}: invalid response head: ${(error as Error).message}`, { status: 502 }),
      );
    }
  }

  protected send(chunk: Buffer): boolean {
    return this.response.write(chunk);
  }

  protected sendEnd(): void {
    this.response.end();
  }

  protected release(error?: Error): void {
    this.request.removeListener('data', this.onRequestData);
    this.request.removeListener('end', this.onRequestEnd);
    this.response.removeListener('drain', this.onDrain);
    this.response.removeListener('close', this.onResponseClose);
    if (this.response.writableEnded) return;
    if (error === undefined) {
      this.response.end();
      return;
    }
    const status = error instanceof L7mpError ? error.status : 502;
    sendJsonResult(this.response, { status, message: error.message });
  }

  protected override pauseSource(): void {
    this.request.pause();
  }

  protected override resumeSource(): void {
    this.request.resume();
  }

  private readonly onRequestData = (chunk: Buffer): void => {
    this.deliverData(chunk);
  };

  private readonly onRequestEnd = (): void => {
    this.deliverEnd();
  };

  private readonly onRequestError = (): void => {};

  private readonly onDrain = (): void => {
    this.deliverDrain();
  };

  private readonly onResponseClose = (): void => {
    this.deliverClose(this.response.writableFinished ? undefined : new HttpAbortedError(this.label));
  };
}
