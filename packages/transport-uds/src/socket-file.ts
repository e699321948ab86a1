import { lstat, unlink } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { UdsListenError } from './errors';

/** What a stream-socket connect attempt tells about a socket file. */
export type SocketFileState =
  /** A stream listener accepts connections on it. */
  | 'accepting'
  /** A socket of another type (seqpacket, dgram) is bound to it, or a stream listener is overloaded. */
  | 'bound'
  /** Nobody is bound to it any more: a leftover of a process that did not clean up. */
  | 'stale'
  | 'missing';

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/** Probes a socket file with a stream connect; the kernel's answer tells whether anyone owns it. */
export function probeSocketFile(path: string): Promise<SocketFileState> {
  return new Promise((resolve, reject) => {
    const probe = netConnect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve('accepting');
    });
    probe.once('error', (error) => {
      probe.destroy();
      switch (errorCode(error)) {
        case 'ECONNREFUSED':
          resolve('stale');
          break;
        case 'ENOENT':
          resolve('missing');
          break;
        case 'EPROTOTYPE':
        case 'EAGAIN':
          resolve('bound');
          break;
        default:
          reject(error);
      }
    });
  });
}

/**
 * Makes `path` free to bind: nothing there is fine; a stale socket file (nobody bound to it) is
 * removed; a socket somebody uses, or any file that is not a socket, is refused. A non-socket
 * file is never deleted.
 */
export async function claimSocketPath(path: string, owner: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw new UdsListenError(`${owner}: cannot use ${path}: ${(error as Error).message}`, error);
  }
  if (!isSocket) {
    throw new UdsListenError(`${owner}: ${path} exists and is not a socket; refusing to replace it`);
  }
  let state: SocketFileState;
  try {
    state = await probeSocketFile(path);
  } catch (error) {
    throw new UdsListenError(`${owner}: cannot check ${path}: ${(error as Error).message}`, error);
  }
  if (state === 'accepting' || state === 'bound') {
    throw new UdsListenError(`${owner}: address in use: another socket is bound to ${path}`);
  }
  if (state === 'stale') await removeSocketFile(path);
}

/** Removes a socket file if it is still there and still a socket (never another kind of file). */
export async function removeSocketFile(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}
