import { L7mpError } from '@l7mp/core';

/** A WebSocket closed abnormally (no close frame, a protocol error, or an error close code). */
export class WebSocketClosedError extends L7mpError {
  readonly code: number;

  constructor(what: string, code: number, reason: string, cause?: unknown) {
    // A protocol error closes the socket without a close frame from the peer (code 1006); the
    // receiver's error is the useful part then.
    const because = reason !== '' ? reason : cause instanceof Error ? cause.message : '';
    const detail = because === '' ? '' : `: ${because}`;
    super(`${what}: WebSocket closed abnormally with code ${code}${detail}`, {
      status: 502,
      ...(cause !== undefined ? { cause } : {}),
    });
    this.code = code;
  }
}
