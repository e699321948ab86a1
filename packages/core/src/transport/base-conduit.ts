import type { Conduit, ConduitHandlers, ResponseHead, StreamKind } from './types';

type Pending =
  | { type: 'data'; chunk: Buffer }
  | { type: 'end' }
  | { type: 'head'; head: ResponseHead }
  | { type: 'close'; error: Error | undefined };

/**
 * The bookkeeping every conduit needs, so transports only implement the socket calls:
 * queueing events until a consumer is attached, reporting `close` exactly once, and making
 * writes after close harmless. Subclasses implement `send`, `sendEnd`, `release`, and
 * optionally `pauseSource` / `resumeSource`; they call `deliver*` when the socket reports
 * something.
 */
export abstract class BaseConduit implements Conduit {
  abstract readonly kind: StreamKind;
  private handlers: ConduitHandlers | undefined;
  private pending: Pending[] | undefined;
  private isClosed = false;
  private writeEnded = false;

  get closed(): boolean {
    return this.isClosed;
  }

  setHandlers(handlers: ConduitHandlers): void {
    this.handlers = handlers;
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    for (const event of pending) this.dispatch(event);
  }

  write(chunk: Buffer): boolean {
    if (this.isClosed || this.writeEnded) return false;
    try {
      return this.send(chunk);
    } catch (error) {
      this.destroy(error as Error);
      return false;
    }
  }

  end(): void {
    if (this.isClosed || this.writeEnded) return;
    this.writeEnded = true;
    try {
      this.sendEnd();
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  destroy(error?: Error): void {
    if (this.isClosed) return;
    try {
      this.release(error);
    } finally {
      this.deliverClose(error);
    }
  }

  pause(): void {
    this.pauseSource();
  }

  resume(): void {
    this.resumeSource();
  }

  /** Sends one message or chunk; returns false when the caller should wait for drain. */
  protected abstract send(chunk: Buffer): boolean;
  /** Half-closes the sending side (for datagram sockets this usually releases the socket). */
  protected abstract sendEnd(): void;
  /** Closes the socket and frees everything; must not call back into deliverClose itself. */
  protected abstract release(error?: Error): void;
  protected pauseSource(): void {}
  protected resumeSource(): void {}

  protected deliverData(chunk: Buffer): void {
    if (this.isClosed) return;
    const handlers = this.handlers;
    if (handlers !== undefined) handlers.data(chunk);
    else this.enqueue({ type: 'data', chunk });
  }

  protected deliverEnd(): void {
    if (this.isClosed) return;
    if (this.handlers !== undefined) this.handlers.end();
    else this.enqueue({ type: 'end' });
  }

  protected deliverHead(head: ResponseHead): void {
    if (this.isClosed) return;
    if (this.handlers !== undefined) this.handlers.head?.(head);
    else this.enqueue({ type: 'head', head });
  }

  protected deliverDrain(): void {
    if (!this.isClosed) this.handlers?.drain();
  }

  /** Reports the close (once). Subclasses call it when the socket closed on its own. */
  protected deliverClose(error?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.handlers !== undefined) this.handlers.close(error);
    else this.enqueue({ type: 'close', error }, true);
  }

  private enqueue(event: Pending, force = false): void {
    if (this.isClosed && !force) return;
    (this.pending ??= []).push(event);
  }

  private dispatch(event: Pending): void {
    const handlers = this.handlers!;
    switch (event.type) {
      case 'data':
        handlers.data(event.chunk);
        break;
      case 'end':
        handlers.end();
        break;
      case 'head':
        handlers.head?.(event.head);
        break;
      case 'close':
        handlers.close(event.error);
        break;
    }
  }
}
