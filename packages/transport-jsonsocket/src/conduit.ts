import { BaseConduit, type Conduit, type ConduitHandlers, type StreamKind } from '@l7mp/core';

export interface HeaderWait {
  /** The first message of the connection. */
  header(message: Buffer): void;
  /** The connection closed before a header arrived. */
  closed(error: Error | undefined): void;
}

/**
 * A JSONSocket connection over an inner message conduit. The first message is the handshake
 * header and goes to whoever waits for it; every later message passes through. On the server
 * side writes are held until the 200 header went out, so session data can never precede it.
 */
export class JSONSocketConduit extends BaseConduit {
  readonly kind: StreamKind;
  private readonly inner: Conduit;
  private headerWait: HeaderWait | undefined;
  private held: Buffer[] | undefined;
  private endHeld = false;
  private answered = false;
  private refused = false;

  constructor(inner: Conduit, options: { holdWrites: boolean }) {
    super();
    this.inner = inner;
    this.kind = inner.kind;
    if (options.holdWrites) this.held = [];
    const handlers: ConduitHandlers = {
      data: this.onInnerData,
      end: this.onInnerEnd,
      close: this.onInnerClose,
      drain: this.onInnerDrain,
    };
    inner.setHandlers(handlers);
  }

  /** Routes the next (first) message to `wait` instead of the conduit's consumer. */
  expectHeader(wait: HeaderWait): void {
    this.headerWait = wait;
  }

  /** Stops waiting for a header (the wait timed out). */
  stopWaiting(): void {
    this.headerWait = undefined;
  }

  /** Writes a handshake message, bypassing held writes. */
  sendHandshake(message: Buffer): boolean {
    return this.closed ? false : this.inner.write(message);
  }

  /** Server side: sends the 200 header, then everything written so far. Once only. */
  accept(okHeader: Buffer): boolean {
    if (this.answered || this.closed) return false;
    this.answered = true;
    let ready = this.inner.write(okHeader);
    const held = this.held ?? [];
    this.held = undefined;
    for (const chunk of held) ready = this.inner.write(chunk);
    if (this.endHeld) this.inner.end();
    else if (ready && held.length > 0) this.deliverDrain();
    return true;
  }

  /** Server side: sends an error header and closes. Nothing written before is sent. */
  refuse(errorHeader: Buffer): void {
    if (this.answered || this.closed) return;
    this.answered = true;
    this.refused = true;
    this.held = undefined;
    this.inner.write(errorHeader);
    this.inner.end();
  }

  protected send(chunk: Buffer): boolean {
    const held = this.held;
    if (held === undefined) return this.inner.write(chunk);
    held.push(chunk);
    return false;
  }

  protected sendEnd(): void {
    if (this.held !== undefined) this.endHeld = true;
    else this.inner.end();
  }

  protected release(error?: Error): void {
    this.held = undefined;
    this.headerWait = undefined;
    // After a refusal the inner conduit is already ending; destroying it now could drop the
    // error header before it left (a datagram socket closed right after send).
    if (!this.refused) this.inner.destroy(error);
  }

  protected override pauseSource(): void {
    this.inner.pause();
  }

  protected override resumeSource(): void {
    this.inner.resume();
  }

  private readonly onInnerData = (chunk: Buffer): void => {
    const wait = this.headerWait;
    if (wait === undefined) {
      this.deliverData(chunk);
      return;
    }
    this.headerWait = undefined;
    wait.header(chunk);
  };

  private readonly onInnerEnd = (): void => {
    this.deliverEnd();
  };

  private readonly onInnerClose = (error?: Error): void => {
    const wait = this.headerWait;
    this.headerWait = undefined;
    this.held = undefined;
    this.deliverClose(error);
    wait?.closed(error);
  };

  private readonly onInnerDrain = (): void => {
    this.deliverDrain();
  };
}
