import { L7mpError } from '../errors';

/**
 * A byte stream violated its framing: a frame larger than the limit, a truncated frame at end of
 * stream, or a message that cannot be encoded (a newline inside a newline-framed message).
 */
export class FramingError extends L7mpError {
  constructor(message: string) {
    super(message, { status: 400 });
  }
}
