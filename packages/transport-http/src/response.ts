import type { ServerResponse } from 'node:http';
import type { AcceptResult } from '@l7mp/core';

const FALLBACK_STATUS = 500;

/** A status Node can put on the wire; anything else becomes 500. */
export function validStatus(status: number): number {
  return Number.isInteger(status) && status >= 100 && status <= 999 ? status : FALLBACK_STATUS;
}

/**
 * Answers with `{status, message, content}` as JSON. Content-Length counts bytes, not
 * characters, so non-ASCII messages arrive whole (anchor bug), and no status/message headers
 * are invented (anchor bug).
 */
export function sendJsonResult(
  response: ServerResponse,
  result: Pick<AcceptResult, 'status' | 'message' | 'content'>,
): void {
  if (response.writableEnded || response.destroyed) return;
  const status = validStatus(result.status);
  const body = JSON.stringify({ status, message: result.message, content: result.content });
  if (response.headersSent) {
    // Too late for a status line: cut the response so the client sees it was incomplete.
    response.destroy();
    return;
  }
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
}
