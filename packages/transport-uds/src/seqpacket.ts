import { BaseConduit, type Conduit } from '@l7mp/core';
import { SeqpacketServer, SeqpacketSocket } from 'node-unix-socket';
import { WriteWindow } from './write-window';

/**
 * A conduit over a connected SOCK_SEQPACKET socket: one write is one message, one `data` is one
 * message, and the connection reports end and close like a stream.
 *
 * Limits of the socket type: a zero-length message reads as end-of-stream on the other side, so
 * empty messages are not sent; a message longer than the receiver's read buffer (256 KiB) is
 * truncated by the kernel; node-unix-socket cannot stop reading, so `pause` has no effect.
 */
export class SeqpacketConduit extends BaseConduit {
  readonly kind = 'datagram' as const;
  private readonly window = new WriteWindow(() => this.deliverDrain());
  private readonly onWritten = () => this.window.done();
  private socketError: Error | undefined;

  constructor(private readonly socket: SeqpacketSocket) {
    super();
    socket.on('data', (message: Buffer) => this.deliverData(message));
    // The library destroys the socket inside its own 'end' handler once both sides are shut
    // down, so ours must run first for the end to be seen before the close.
    socket.prependListener('end', () => this.deliverEnd());
    socket.on('error', (error: Error) => {
      this.socketError ??= error;
    });
    socket.on('close', () => this.deliverClose(this.socketError));
  }

  protected send(message: Buffer): boolean {
    if (message.length === 0) return true;
    this.socket.write(message, 0, message.length, this.onWritten);
    return this.window.add();
  }

  protected sendEnd(): void {
    this.socket.end();
  }

  protected release(): void {
    this.socket.destroy();
  }
}

/** Listens for SOCK_SEQPACKET connections on a path (synchronous: throws if it cannot bind). */
export function listenSeqpacket(
  path: string,
  onConnection: (conduit: Conduit) => void,
  onError: (error: Error) => void,
): SeqpacketServer {
  const server = new SeqpacketServer();
  server.on('error', onError);
  try {
    server.listen(path);
  } catch (error) {
    server.close();
    throw error;
  }
  server.on('connection', (socket: SeqpacketSocket) => onConnection(new SeqpacketConduit(socket)));
  return server;
}

/** Starts a SOCK_SEQPACKET connect; returns the function that abandons it. */
export function connectSeqpacket(
  path: string,
  succeed: (conduit: Conduit) => void,
  fail: (error: Error) => void,
): () => void {
  const socket = new SeqpacketSocket();
  let connected = false;
  // Kept until connected: the library may report more than one error for a failed attempt.
  const onError = (error: Error) => fail(error);
  socket.on('error', onError);
  try {
    socket.connect(path, () => {
      connected = true;
      socket.removeListener('error', onError);
      succeed(new SeqpacketConduit(socket));
    });
  } catch (error) {
    socket.destroy();
    fail(error as Error);
  }
  return () => {
    if (!connected) socket.destroy();
  };
}
