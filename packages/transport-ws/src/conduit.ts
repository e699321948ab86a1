import type { Writable } from 'node:stream';
import { BaseConduit, TurnCork } from '@l7mp/core';
import type { RawData, WebSocket } from 'ws';
import { WebSocketClosedError } from './errors';

/** Above this many buffered bytes `write` returns false until the socket drains. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

// Close codes that mean "the peer is done" rather than "something broke".
const NORMAL_CLOSE = 1000;
const GOING_AWAY = 1001;
const NO_STATUS = 1005;
const INTERNAL_ERROR = 1011;
// RFC 6455 limits a close reason to 123 bytes.
const MAX_CLOSE_REASON_BYTES = 123;

const BINARY = { binary: true } as const;

/** Truncates a close reason to what a close frame can carry, without splitting a character. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) return text;
  let result = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    result += char;
    bytes += size;
  }
  return result;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * A WebSocket as a datagram conduit: one message in is one chunk, one write is one binary
 * message (text frames arrive as Buffers too). WebSockets cannot half-close, so `end` starts the
 * close handshake; a peer's normal close is reported as `end` followed by `close`.
 *
 * Given the connection's TCP socket, the frames written during one turn of the event loop leave
 * in one system call (`TurnCork`): a burst of datagrams read in one poll costs one `writev`
 * instead of one write each, on this side and in the peer's reads.
 */
export class WebSocketConduit extends BaseConduit {
  readonly kind = 'datagram' as const;
  private readonly ws: WebSocket;
  private readonly label: string;
  private readonly highWaterMark: number;
  private readonly cork: TurnCork | undefined;
  private needDrain = false;
  private lastError: Error | undefined;

  constructor(ws: WebSocket, label: string, highWaterMark = DEFAULT_HIGH_WATER_MARK, socket?: Writable) {
    super();
    this.ws = ws;
    this.label = label;
    this.highWaterMark = highWaterMark;
    this.cork = socket === undefined ? undefined : new TurnCork(socket);
    ws.binaryType = 'nodebuffer';
    ws.on('message', this.onMessage);
    ws.on('close', this.onClose);
    ws.on('error', this.onError);
  }

  protected send(chunk: Buffer): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.cork?.hold();
    this.ws.send(chunk, BINARY, this.onSent);
    if (this.ws.bufferedAmount < this.highWaterMark) return true;
    this.needDrain = true;
    return false;
  }

  protected sendEnd(): void {
    this.ws.close(NORMAL_CLOSE);
  }

  protected release(error?: Error): void {
    this.ws.removeListener('message', this.onMessage);
    this.ws.removeListener('close', this.onClose);
    // Keep a listener: a late socket error after release must not become an unhandled event.
    if (error === undefined) this.ws.close(NORMAL_CLOSE);
    else this.ws.close(INTERNAL_ERROR, closeReason(error.message));
  }

  protected override pauseSource(): void {
    this.ws.pause();
  }

  protected override resumeSource(): void {
    this.ws.resume();
  }

  private readonly onMessage = (data: RawData): void => {
    this.deliverData(toBuffer(data));
  };

  private readonly onSent = (): void => {
    // Called once per message when it reached the socket; cheap unless a drain is owed.
    if (this.needDrain && this.ws.bufferedAmount < this.highWaterMark) {
      this.needDrain = false;
      this.deliverDrain();
    }
  };

  private readonly onError = (error: Error): void => {
    // ws always follows an error with 'close'; remember why so close can report it.
    this.lastError ??= error;
  };

  private readonly onClose = (code: number, reason: Buffer): void => {
    if (
      this.lastError === undefined &&
      (code === NORMAL_CLOSE || code === GOING_AWAY || code === NO_STATUS)
    ) {
      this.deliverEnd();
      this.deliverClose();
      return;
    }
    this.deliverClose(new WebSocketClosedError(this.label, code, reason.toString(), this.lastError));
  };
}
