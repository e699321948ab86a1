import { DEFAULT_HIGH_WATER_MARK } from './conduit';

/** Tunables of the WebSocket transport (not part of the listener/cluster spec). */
export interface WebSocketOptions {
  /** Largest message accepted, in bytes; a bigger one closes the connection with 1009. */
  maxPayload?: number;
  /** Buffered bytes above which `write` asks the caller to wait for drain. */
  highWaterMark?: number;
}

export const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;

export function resolveOptions(options: WebSocketOptions = {}): Required<WebSocketOptions> {
  return {
    maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    highWaterMark: options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK,
  };
}
