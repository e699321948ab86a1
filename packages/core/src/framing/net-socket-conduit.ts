import type { Socket } from 'node:net';
import { BaseConduit } from '../transport/base-conduit';
import { TurnCork } from '../transport/turn-cork';
import type { StreamKind } from '../transport/types';
import type { FrameDecoder, Framer } from './types';

export interface NetSocketConduitOptions {
  /** Message framing on the stream; without one the conduit is a plain byte stream. */
  framer?: Framer | undefined;
}

/**
 * A conduit over a connected `net.Socket` (TCP or a Unix stream socket). Without a framer it is
 * a byte stream; with one it is a datagram conduit: `write` sends one framed message and `data`
 * delivers whole messages. The socket must be created with `allowHalfOpen: true` so that the
 * peer's end is reported as `end` and our side stays writable until `end()` is called. With a
 * framer, the messages written in one event-loop turn leave in one system call (`TurnCork`).
 */
export class NetSocketConduit extends BaseConduit {
  readonly kind: StreamKind;
  private readonly framer: Framer | undefined;
  private readonly decoder: FrameDecoder | undefined;
  /** Framed (datagram) conduits only: bulk byte streams gain nothing and would pause more often. */
  private readonly cork: TurnCork | undefined;
  private socketError: Error | undefined;

  constructor(
    private readonly socket: Socket,
    options: NetSocketConduitOptions = {},
  ) {
    super();
    const framer = options.framer;
    this.cork = framer === undefined ? undefined : new TurnCork(socket);
    this.framer = framer;
    this.kind = framer === undefined ? 'byte-stream' : 'datagram';
    if (framer === undefined) {
      socket.on('data', (chunk: Buffer) => this.deliverData(chunk));
    } else {
      const decoder = framer.createDecoder(
        (message) => this.deliverData(message),
        (error) => this.destroy(error),
      );
      this.decoder = decoder;
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    }
    socket.on('end', () => {
      this.decoder?.end();
      this.deliverEnd();
    });
    socket.on('drain', () => this.deliverDrain());
    socket.on('error', (error: Error) => {
      this.socketError ??= error;
    });
    socket.on('close', () => this.deliverClose(this.socketError));
  }

  protected send(chunk: Buffer): boolean {
    const framer = this.framer;
    this.cork?.hold();
    return this.socket.write(framer === undefined ? chunk : framer.encode(chunk));
  }

  protected sendEnd(): void {
    this.socket.end();
  }

  protected release(): void {
    this.socket.destroy();
  }

  protected override pauseSource(): void {
    this.socket.pause();
  }

  protected override resumeSource(): void {
    this.socket.resume();
  }
}
