import { FramingError } from './errors';
import type { FrameDecoder, Framer, FramingErrorHandler, MessageHandler } from './types';

const NEWLINE = 0x0a;

/**
 * One message per line, terminated by `\n` (a `\r` before it is kept as part of the message).
 * A message that contains `\n` cannot be sent: `encode` throws, so the conduit closes with the
 * error rather than silently splitting the message in two. Empty messages are empty lines. A
 * partial last line when the stream ends is delivered as a final message, as line readers do.
 */
export class NewlineFramer implements Framer {
  readonly framing = 'newline' as const;

  constructor(private readonly maxMessageSize: number) {}

  encode(message: Buffer): Buffer {
    const length = message.length;
    if (length > this.maxMessageSize) {
      throw new FramingError(
        `newline framing: cannot send a ${length}-byte message, the limit is ${this.maxMessageSize} bytes`,
      );
    }
    const at = message.indexOf(NEWLINE);
    if (at >= 0) {
      throw new FramingError(
        `newline framing: cannot send a message that contains a newline (at byte ${at} of ${length})`,
      );
    }
    const framed = Buffer.allocUnsafe(length + 1);
    message.copy(framed, 0);
    framed[length] = NEWLINE;
    return framed;
  }

  createDecoder(onMessage: MessageHandler, onError: FramingErrorHandler): FrameDecoder {
    return new NewlineDecoder(this.maxMessageSize, onMessage, onError);
  }
}

/** Lines inside one chunk are delivered as views of it; only a line spanning chunks is copied. */
class NewlineDecoder implements FrameDecoder {
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private failed = false;

  constructor(
    private readonly maxMessageSize: number,
    private readonly onMessage: MessageHandler,
    private readonly onError: FramingErrorHandler,
  ) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    if (newline >= 0 && this.partsBytes > 0) {
      this.parts.push(chunk.subarray(0, newline));
      const length = this.partsBytes + newline;
      const message = Buffer.concat(this.parts, length);
      this.parts = [];
      this.partsBytes = 0;
      if (!this.deliver(message)) return;
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    while (newline >= 0) {
      if (!this.deliver(chunk.subarray(start, newline))) return;
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) {
      this.partsBytes += chunk.length - start;
      if (this.partsBytes > this.maxMessageSize) {
        this.fail(
          `newline framing: more than ${this.maxMessageSize} bytes received without a newline (message size limit)`,
        );
        return;
      }
      this.parts.push(start === 0 ? chunk : chunk.subarray(start));
    }
  }

  end(): void {
    if (this.failed || this.partsBytes === 0) return;
    const parts = this.parts;
    const message = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.partsBytes);
    this.parts = [];
    this.partsBytes = 0;
    this.onMessage(message);
  }

  /** Delivers one complete line; false if it broke the size limit and the decoder stopped. */
  private deliver(message: Buffer): boolean {
    if (message.length > this.maxMessageSize) {
      this.fail(
        `newline framing: incoming line of ${message.length} bytes exceeds the limit of ${this.maxMessageSize} bytes`,
      );
      return false;
    }
    this.onMessage(message);
    return !this.failed;
  }

  private fail(message: string): void {
    this.failed = true;
    this.parts = [];
    this.partsBytes = 0;
    this.onError(new FramingError(message));
  }
}
