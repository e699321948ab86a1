/** Receives the messages a decoder cuts out of a byte stream. */
export type MessageHandler = (message: Buffer) => void;
/** Receives the (single) error that stops a decoder. */
export type FramingErrorHandler = (error: Error) => void;

/**
 * Turns the chunks of one byte stream back into messages. One decoder per connection: it keeps
 * the partial frame between chunks. After reporting an error it ignores all further input.
 */
export interface FrameDecoder {
  /** Feeds the next chunk; complete messages are handed to `onMessage` synchronously, in order. */
  push(chunk: Buffer): void;
  /** The stream ended: reports (or delivers, see the framing) whatever partial frame is left. */
  end(): void;
}

/**
 * A framing: how messages are written to and read from a byte stream. Stateless and shareable
 * between connections; the per-connection state lives in the decoders it creates.
 */
export interface Framer {
  readonly framing: 'length-prefixed' | 'newline';
  /** The framed bytes of one message. Throws `FramingError` if the message cannot be framed. */
  encode(message: Buffer): Buffer;
  createDecoder(onMessage: MessageHandler, onError: FramingErrorHandler): FrameDecoder;
}

export interface FramerOptions {
  /** Largest message accepted in either direction, in bytes (default 16 MiB). */
  maxMessageSize?: number;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
