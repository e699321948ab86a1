import type { Writable } from 'node:stream';

/**
 * Gathers the writes a conduit makes during one turn of the event loop into one system call.
 *
 * `hold()` before a write corks the socket once per turn; the check phase of the same turn
 * (`setImmediate`) uncorks it, and Node hands everything written meanwhile to the kernel in one
 * `writev`. A UDP socket yields up to 32 datagrams per poll, so a datagram → stream hop under
 * load sends one segment per burst instead of one per datagram, and the reader wakes up once.
 * Nothing waits for more traffic: a lone write still leaves before the loop polls again.
 */
export class TurnCork {
  private corked = false;

  constructor(private readonly socket: Writable) {}

  hold(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(this.release);
  }

  private readonly release = (): void => {
    this.corked = false;
    // Harmless on a socket that was ended or destroyed meanwhile.
    this.socket.uncork();
  };
}
