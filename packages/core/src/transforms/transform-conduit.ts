import { ConnectError } from '../errors';
import { BaseConduit } from '../transport/base-conduit';
import type { ConnectRequest, StreamKind } from '../transport/types';

const END = Symbol('end');
type Output = Buffer | typeof END;

/**
 * A conduit whose other end is code inside the proxy. Subclasses turn each written chunk into
 * zero or more output chunks with `emit`, and may act on the end of input in `finish`.
 *
 * Output produced while the consumer has paused us is held back, and `write` then returns false
 * so the writer waits for `drain`. After the input ended and everything was delivered, the
 * conduit reports `end` and then `close`, like a socket whose both directions are finished.
 */
export abstract class TransformConduit extends BaseConduit {
  readonly kind: StreamKind = 'datagram';
  private paused = false;
  private held: Output[] | undefined;

  protected abstract transform(chunk: Buffer): void;

  /** Called once when the writer ended; call `finishOutput()` when the last output was emitted. */
  protected finish(): void {
    this.finishOutput();
  }

  /** Hands one chunk to the consumer (or holds it while paused). */
  protected emit(chunk: Buffer): void {
    if (this.paused || this.held !== undefined) (this.held ??= []).push(chunk);
    else this.deliverData(chunk);
  }

  /** Ends the output: reports `end`, then `close`. */
  protected finishOutput(): void {
    if (this.paused || this.held !== undefined) (this.held ??= []).push(END);
    else this.deliverEndAndClose();
  }

  protected send(chunk: Buffer): boolean {
    this.transform(chunk);
    return !this.paused;
  }

  protected sendEnd(): void {
    this.finish();
  }

  protected release(_error?: Error): void {
    this.held = undefined;
  }

  protected override pauseSource(): void {
    this.paused = true;
  }

  protected override resumeSource(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) {
      for (let i = 0; i < held.length; i++) {
        const output = held[i] as Output;
        if (this.paused) {
          // The consumer paused again while we were flushing: keep the rest for later.
          this.held = held.slice(i);
          return;
        }
        if (output === END) this.deliverEndAndClose();
        else this.deliverData(output);
      }
    }
    this.deliverDrain();
  }

  private deliverEndAndClose(): void {
    this.deliverEnd();
    this.deliverClose();
  }
}

/** Rejects a connect whose attempt was already given up. */
export function checkNotAborted(request: ConnectRequest, clusterName: string): void {
  if (request.signal.aborted) {
    throw new ConnectError(
      `Cluster "${clusterName}": connect for session "${request.sessionName}" was aborted`,
    );
  }
}
