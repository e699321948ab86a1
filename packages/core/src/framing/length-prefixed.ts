import { FramingError } from './errors';
import type { FrameDecoder, Framer, FramingErrorHandler, MessageHandler } from './types';

const HEADER_SIZE = 4;
const NO_FRAME = -1;

/**
 * Each message is preceded by its length as a 4-byte big-endian unsigned integer. Zero-length
 * messages are allowed. A frame announcing more than `maxMessageSize` bytes stops the decoder
 * with an error instead of buffering it; a stream that ends inside a frame is reported as an
 * error (the partial frame is never delivered).
 */
export class LengthPrefixedFramer implements Framer {
  readonly framing = 'length-prefixed' as const;

  constructor(private readonly maxMessageSize: number) {}

  encode(message: Buffer): Buffer {
    const length = message.length;
    if (length > this.maxMessageSize) {
      throw new FramingError(
        `length-prefixed framing: cannot send a ${length}-byte message, the limit is ${this.maxMessageSize} bytes`,
      );
    }
    // One buffer rather than header + body: a single socket write is cheaper than a copy.
    const framed = Buffer.allocUnsafe(HEADER_SIZE + length);
    framed.writeUInt32BE(length, 0);
    message.copy(framed, HEADER_SIZE);
    return framed;
  }

  createDecoder(onMessage: MessageHandler, onError: FramingErrorHandler): FrameDecoder {
    return new LengthPrefixedDecoder(this.maxMessageSize, onMessage, onError);
  }
}

/**
 * Messages that lie wholly inside one chunk are delivered as views of that chunk (no copy);
 * only a frame that spans chunks is assembled, with a single concat once it is complete.
 */
class LengthPrefixedDecoder implements FrameDecoder {
  private readonly header = Buffer.alloc(HEADER_SIZE);
  private headerFilled = 0;
  /** Body length of the frame being assembled across chunks, or NO_FRAME. */
  private frameLength = NO_FRAME;
  private bodyParts: Buffer[] = [];
  private bodyFilled = 0;
  private failed = false;

  constructor(
    private readonly maxMessageSize: number,
    private readonly onMessage: MessageHandler,
    private readonly onError: FramingErrorHandler,
  ) {}

  push(chunk: Buffer): void {
    const size = chunk.length;
    let offset = 0;
    while (offset < size && !this.failed) {
      if (this.frameLength === NO_FRAME) {
        let length: number;
        if (this.headerFilled === 0 && size - offset >= HEADER_SIZE) {
          length = chunk.readUInt32BE(offset);
          offset += HEADER_SIZE;
        } else {
          const take = Math.min(HEADER_SIZE - this.headerFilled, size - offset);
          chunk.copy(this.header, this.headerFilled, offset, offset + take);
          this.headerFilled += take;
          offset += take;
          if (this.headerFilled < HEADER_SIZE) return;
          this.headerFilled = 0;
          length = this.header.readUInt32BE(0);
        }
        if (length > this.maxMessageSize) {
          this.fail(
            `length-prefixed framing: incoming frame of ${length} bytes exceeds the limit of ${this.maxMessageSize} bytes`,
          );
          return;
        }
        if (size - offset >= length) {
          const message = chunk.subarray(offset, offset + length);
          offset += length;
          this.onMessage(message);
          continue;
        }
        this.frameLength = length;
      }
      const take = Math.min(this.frameLength - this.bodyFilled, size - offset);
      this.bodyParts.push(chunk.subarray(offset, offset + take));
      this.bodyFilled += take;
      offset += take;
      if (this.bodyFilled === this.frameLength) {
        const parts = this.bodyParts;
        const message = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.bodyFilled);
        this.frameLength = NO_FRAME;
        this.bodyParts = [];
        this.bodyFilled = 0;
        this.onMessage(message);
      }
    }
  }

  end(): void {
    if (this.failed) return;
    if (this.headerFilled > 0 || this.frameLength !== NO_FRAME) {
      const missing =
        this.frameLength === NO_FRAME
          ? `${HEADER_SIZE - this.headerFilled} header bytes`
          : `${this.frameLength - this.bodyFilled} of ${this.frameLength} bytes`;
      this.fail(`length-prefixed framing: stream ended inside a frame (missing ${missing})`);
    }
  }

  private fail(message: string): void {
    this.failed = true;
    this.bodyParts = [];
    this.onError(new FramingError(message));
  }
}
