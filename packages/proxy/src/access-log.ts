import { createWriteStream, type WriteStream } from 'node:fs';
import type { Proxy, Session } from '@l7mp/core';

/** One JSON line of the access log: what a user asks about an ended session. */
export interface AccessLogEntry {
  time: string;
  session: string;
  listener: string;
  route: string | undefined;
  destination: string | undefined;
  endpoint: string | undefined;
  status: string;
  error?: string;
  duration_ms: number;
  bytes_in: number;
  bytes_out: number;
  datagrams_in: number;
  datagrams_out: number;
}

export function accessLogEntry(session: Session, error: Error | undefined, now = new Date()): AccessLogEntry {
  const source = session.source.stats;
  return {
    time: now.toISOString(),
    session: session.name,
    listener: session.listener,
    route: session.route?.name,
    destination: session.destination?.origin,
    endpoint: session.destination?.endpoint?.name,
    status: error === undefined ? 'ok' : 'error',
    ...(error !== undefined ? { error: error.message } : {}),
    duration_ms: now.getTime() - session.createdAt.getTime(),
    bytes_in: source.bytesIn,
    bytes_out: source.bytesOut,
    datagrams_in: source.datagramsIn,
    datagrams_out: source.datagramsOut,
  };
}

/** Appends one JSON line per ended session to `path`; returns a function that stops and flushes. */
export function attachAccessLog(proxy: Proxy, path: string): () => Promise<void> {
  const stream: WriteStream = createWriteStream(path, { flags: 'a' });
  stream.on('error', (error) => proxy.logger.error({ err: error, path }, 'access log cannot be written'));
  const onEnd = (session: Session, error: Error | undefined): void => {
    stream.write(`${JSON.stringify(accessLogEntry(session, error))}\n`);
  };
  proxy.on('session-end', onEnd);
  return () =>
    new Promise<void>((resolve) => {
      proxy.off('session-end', onEnd);
      stream.end(resolve);
    });
}
