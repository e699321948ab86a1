import { once } from 'node:events';
import type { ListenerTransport, TransportPlugin } from '@l7mp/core';
import { wsTransport } from '@l7mp/transport-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { jsonSocketTransport } from '../src';

/** JSONSocket runs over WebSocket in these tests (a message transport that keeps boundaries). */
export const plugins: readonly TransportPlugin[] = [jsonSocketTransport, wsTransport];

export function portOf(listener: ListenerTransport): number {
  const address = listener.address?.();
  if (address === undefined || !('port' in address)) throw new Error('listener not bound');
  return address.port;
}

/** A ws client that records every message it receives as text. */
export interface Client {
  ws: WebSocket;
  messages: string[];
  next(count: number): Promise<string[]>;
  closed: Promise<[number, Buffer]>;
}

export async function openClient(port: number): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  const messages: string[] = [];
  const waiters: { count: number; resolve: (messages: string[]) => void }[] = [];
  ws.on('message', (data: Buffer) => {
    messages.push(data.toString());
    for (const waiter of waiters.splice(0)) {
      if (messages.length >= waiter.count) waiter.resolve(messages.slice(0, waiter.count));
      else waiters.push(waiter);
    }
  });
  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  await once(ws, 'open');
  return {
    ws,
    messages,
    closed,
    next: (count) =>
      messages.length >= count
        ? Promise.resolve(messages.slice(0, count))
        : new Promise((resolve) => waiters.push({ count, resolve })),
  };
}

/**
 * A bare WebSocket server playing the JSONSocket server: it records the request header, answers
 * with `response` (a string is sent verbatim) unless it is undefined, then echoes.
 */
export async function responder(response: unknown): Promise<{
  port: number;
  headers: unknown[];
  close(): Promise<void>;
}> {
  const headers: unknown[] = [];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => {
    let first = true;
    ws.on('message', (data: Buffer) => {
      if (!first) {
        ws.send(data);
        return;
      }
      first = false;
      headers.push(JSON.parse(data.toString()));
      if (response === undefined) return;
      ws.send(typeof response === 'string' ? response : JSON.stringify(response));
    });
  });
  await once(wss, 'listening');
  const address = wss.address();
  return {
    port: address !== null && typeof address === 'object' ? address.port : 0,
    headers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}
