import { afterEach, describe, expect, it } from '@jest/globals';
import type { Proxy } from '@l7mp/core';
import {
  closedTcpPort,
  closeTcpServer,
  destinationEndpoint,
  listenerPort,
  liveSessionNames,
  LOOPBACK,
  Resources,
  tcpClient,
  tcpEchoServer,
  udpClient,
  udpEchoServer,
  waitFor,
  within,
  type TcpClient,
  type TcpServer,
} from './helpers';

/**
 * Retry policies (anchor §8, with the product fixes) over real TCP and UDP endpoints: failed
 * connects, endpoints that die under a live session, recursive endpoint deletes, and sessions
 * that run out of retries and must end cleanly.
 */

const resources = new Resources();
afterEach(() => resources.closeAll());

interface Ended {
  name: string;
  error: Error | undefined;
}

/** Records every session end with its error (undefined for a normal end). */
function recordEnds(proxy: Proxy): Ended[] {
  const ended: Ended[] = [];
  proxy.on('session-end', (session, error) => ended.push({ name: session.name, error }));
  return ended;
}

type Target = { name: string; port: number };

/** A TCP listener in front of a TCP cluster with the endpoints in `targets` (in that order). */
async function tcpProxy(
  targets: Target[],
  retry: Record<string, unknown>,
  options: { track?: number; loadbalancer?: string } = {},
): Promise<{ proxy: Proxy; port: number; ended: Ended[] }> {
  const proxy = await resources.proxy({
    clusters: [
      {
        name: 'backend',
        spec: { protocol: 'TCP', port: 1 },
        loadbalancer: { policy: options.loadbalancer ?? 'Trivial' },
        endpoints: targets.map(({ name, port }) => ({ name, spec: { address: LOOPBACK, port } })),
      },
    ],
    listeners: [
      {
        name: 'in',
        spec: { protocol: 'TCP', port: 0, address: LOOPBACK },
        rules: [{ action: { route: { destination: 'backend', retry } } }],
        options: { track: options.track ?? 0 },
      },
    ],
  });
  return { proxy, port: listenerPort(proxy, 'in'), ended: recordEnds(proxy) };
}

/** Sends `text` and waits for the tagged echo; returns the tag of the endpoint that answered. */
async function ask(client: TcpClient, text: string): Promise<string> {
  client.data.clear();
  client.socket.write(text);
  const reply = (await client.data.waitBytes(2 + text.length)).toString();
  expect(reply.slice(2)).toBe(text);
  return reply.slice(0, 1);
}

/** The only live session's name. */
async function onlySession(proxy: Proxy): Promise<string> {
  await waitFor(() => liveSessionNames(proxy).length === 1, 'one live session');
  const [name] = liveSessionNames(proxy);
  if (name === undefined) throw new Error('no session');
  return name;
}

/** Kills the endpoint like a crashed host: RST on its connections, then nothing listens. */
async function kill(server: TcpServer): Promise<void> {
  for (const socket of [...server.sockets]) socket.resetAndDestroy();
  await closeTcpServer(server.server, server.sockets);
}

describe('retries at setup (connect-failure)', () => {
  it('the first endpoint refuses, the retry connects to the other one and data flows', async () => {
    const dead = await closedTcpPort();
    const live = await tcpEchoServer(resources, { tag: 'L:' });
    const { proxy, port, ended } = await tcpProxy(
      [
        { name: 'dead', port: dead },
        { name: 'live', port: live.port },
      ],
      { retry_on: 'connect-failure', num_retries: 1, timeout: 300 },
    );
    const client = await tcpClient(resources, { port });
    expect(await ask(client, 'hello')).toBe('L');
    expect(destinationEndpoint(proxy, await onlySession(proxy))).toBe('live');
    expect(ended).toEqual([]);
  });

  it('retry_on never: a refused connect fails the session and closes the client', async () => {
    const dead = await closedTcpPort();
    const live = await tcpEchoServer(resources, { tag: 'L:' });
    const { proxy, port, ended } = await tcpProxy(
      [
        { name: 'dead', port: dead },
        { name: 'live', port: live.port },
      ],
      { retry_on: 'never', timeout: 300 },
    );
    const client = await tcpClient(resources, { port });
    await within(client.closed, 'the client to be closed');
    expect(client.data.bytes.length).toBe(0);
    expect(ended).toHaveLength(1);
    expect(ended[0]?.error?.message).toMatch(/Pipeline setup failed/);
    expect(liveSessionNames(proxy)).toEqual([]);
    expect(await live.connections()).toBe(0);
  });

  it('every attempt refused: the session ends with an error after num_retries + 1 attempts', async () => {
    const { proxy, port, ended } = await tcpProxy(
      [
        { name: 'dead-1', port: await closedTcpPort() },
        { name: 'dead-2', port: await closedTcpPort() },
      ],
      { retry_on: 'connect-failure', num_retries: 2, timeout: 100 },
    );
    const started = Date.now();
    const client = await tcpClient(resources, { port });
    await within(client.closed, 'the client to be closed');
    // Two pauses of `timeout` between three attempts.
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(ended[0]?.error?.message).toMatch(/after 3 attempts/);
    expect(proxy.sessions()).toEqual([]);
  });
});

describe('reconnects of a live session (disconnect, always)', () => {
  for (const retryOn of ['disconnect', 'always'] as const) {
    it(`${retryOn}: the endpoint dies (RST) and the session moves to the other one`, async () => {
      const a = await tcpEchoServer(resources, { tag: 'A:' });
      const b = await tcpEchoServer(resources, { tag: 'B:' });
      const { proxy, port, ended } = await tcpProxy(
        [
          { name: 'A', port: a.port },
          { name: 'B', port: b.port },
        ],
        { retry_on: retryOn, num_retries: 1, timeout: 300 },
      );
      const client = await tcpClient(resources, { port });
      expect(await ask(client, 'one')).toBe('A');
      const session = await onlySession(proxy);
      await kill(a);
      await waitFor(() => destinationEndpoint(proxy, session) === 'B', 'the session to reach B');
      expect(await ask(client, 'two')).toBe('B');
      expect(ended).toEqual([]);
      expect(client.data.ended).toBe(false);
      const events = (proxy.getSession(session).events as { event: string }[]).map((e) => e.event);
      expect(events).toEqual(['INIT', 'LOOKUP SUCCESS', 'CONNECT', 'DISCONNECT', 'CONNECT']);
    });
  }

  it('data the client sends while the session reconnects is not lost', async () => {
    const a = await tcpEchoServer(resources, { tag: 'A:' });
    const b = await tcpEchoServer(resources, { tag: 'B:' });
    // The reconnect first tries the refusing endpoint, then pauses 400 ms, then reaches B.
    const { proxy, port } = await tcpProxy(
      [
        { name: 'A', port: a.port },
        { name: 'dead', port: await closedTcpPort() },
        { name: 'B', port: b.port },
      ],
      { retry_on: 'disconnect', num_retries: 2, timeout: 400 },
    );
    const client = await tcpClient(resources, { port });
    expect(await ask(client, 'one')).toBe('A');
    const session = await onlySession(proxy);
    await kill(a);
    await waitFor(
      () => (proxy.getSession(session).destination as { status?: string }).status === 'RETRYING',
      'the destination stage to be retrying',
    );
    client.data.clear();
    client.socket.write('during');
    await waitFor(() => destinationEndpoint(proxy, session) === 'B', 'the session to reach B');
    expect((await client.data.waitBytes('B:during'.length, 1500)).toString()).toBe('B:during');
  });

  it('a UDP endpoint whose socket closed is detected (ICMP) and the session moves on', async () => {
    const a = await udpEchoServer(resources, 'A:');
    const b = await udpEchoServer(resources, 'B:');
    const proxy = await resources.proxy({
      clusters: [
        {
          name: 'backend',
          spec: { protocol: 'UDP', port: 1 },
          endpoints: [
            { name: 'A', spec: { address: LOOPBACK, port: a.port } },
            { name: 'B', spec: { address: LOOPBACK, port: b.port } },
          ],
        },
      ],
      listeners: [
        {
          name: 'in',
          spec: { protocol: 'UDP', port: 0, address: LOOPBACK },
          rules: [
            {
              action: {
                route: {
                  destination: 'backend',
                  retry: { retry_on: 'disconnect', num_retries: 1, timeout: 300 },
                },
              },
            },
          ],
        },
      ],
    });
    const ended = recordEnds(proxy);
    const client = await udpClient(resources, listenerPort(proxy, 'in'));
    client.send('one');
    expect((await client.inbox.next('the reply from A')).toString()).toBe('A:one');
    const session = await onlySession(proxy);
    await a.close();
    // This datagram goes to A's closed port; the ICMP error it provokes closes the conduit.
    client.send('lost');
    await waitFor(() => destinationEndpoint(proxy, session) === 'B', 'the session to reach B');
    client.send('two');
    expect((await client.inbox.next('the reply from B')).toString()).toBe('B:two');
    expect(ended).toEqual([]);
  });

  it('retries exhausted: the session ends cleanly, the client is closed and nothing is left open', async () => {
    const a = await tcpEchoServer(resources, { tag: 'A:' });
    const { proxy, port, ended } = await tcpProxy([{ name: 'A', port: a.port }], {
      retry_on: 'disconnect',
      num_retries: 1,
      timeout: 100,
    });
    const client = await tcpClient(resources, { port });
    expect(await ask(client, 'one')).toBe('A');
    await kill(a);
    await within(client.closed, 'the client to be closed');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.error?.message).toMatch(/Reconnect failed/);
    expect(proxy.sessions()).toEqual([]);
    // The proxy holds no connection of the listener any more: close it and nothing hangs.
    await within(proxy.close(), 'the proxy to close');
  });

  it('retries exhausted with track > 0: the session stays listed as DESTROYED', async () => {
    const a = await tcpEchoServer(resources, { tag: 'A:' });
    const { proxy, port } = await tcpProxy(
      [{ name: 'A', port: a.port }],
      { retry_on: 'always', num_retries: 1, timeout: 100 },
      { track: 5 },
    );
    const client = await tcpClient(resources, { port });
    expect(await ask(client, 'one')).toBe('A');
    const session = await onlySession(proxy);
    await kill(a);
    await within(client.closed, 'the client to be closed');
    await waitFor(() => proxy.getSession(session).status === 'DESTROYED', 'the session to be destroyed');
    expect(liveSessionNames(proxy)).toEqual([]);
    const events = (proxy.getSession(session).events as { event: string }[]).map((e) => e.event);
    expect(events.slice(-2)).toEqual(['ERROR', 'DESTROY']);
  });

  it('DELETE endpoint with recursive moves a live session to the other endpoint', async () => {
    const a = await tcpEchoServer(resources, { tag: 'A:' });
    const b = await tcpEchoServer(resources, { tag: 'B:' });
    const { proxy, port, ended } = await tcpProxy(
      [
        { name: 'A', port: a.port },
        { name: 'B', port: b.port },
      ],
      { retry_on: 'disconnect', num_retries: 1, timeout: 300 },
    );
    const client = await tcpClient(resources, { port });
    expect(await ask(client, 'one')).toBe('A');
    const session = await onlySession(proxy);
    proxy.deleteEndpoint('A', { recursive: true });
    await waitFor(() => destinationEndpoint(proxy, session) === 'B', 'the session to reach B');
    expect(await ask(client, 'two')).toBe('B');
    // The proxy closed its connection to the deleted endpoint.
    await waitFor(() => a.sockets.length === 0, 'the connection to A to close');
    expect(ended).toEqual([]);
  });

  it('DELETE endpoint without recursive leaves the live session where it is', async () => {
    const a = await tcpEchoServer(resources, { tag: 'A:' });
    const b = await tcpEchoServer(resources, { tag: 'B:' });
    const { proxy, port } = await tcpProxy(
      [
        { name: 'A', port: a.port },
        { name: 'B', port: b.port },
      ],
      { retry_on: 'disconnect', num_retries: 1, timeout: 300 },
    );
    const client = await tcpClient(resources, { port });
    expect(await ask(client, 'one')).toBe('A');
    proxy.deleteEndpoint('A');
    expect(await ask(client, 'two')).toBe('A');
    // New sessions no longer see A.
    const second = await tcpClient(resources, { port });
    expect(await ask(second, 'three')).toBe('B');
  });

  it('retry_on never: the endpoint dies and the session ends normally', async () => {
    const a = await tcpEchoServer(resources, { tag: 'A:' });
    const b = await tcpEchoServer(resources, { tag: 'B:' });
    const { proxy, port, ended } = await tcpProxy(
      [
        { name: 'A', port: a.port },
        { name: 'B', port: b.port },
      ],
      { retry_on: 'never', timeout: 300 },
    );
    const client = await tcpClient(resources, { port });
    expect(await ask(client, 'one')).toBe('A');
    await kill(a);
    await within(client.closed, 'the client to be closed');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.error).toBeUndefined();
    expect(liveSessionNames(proxy)).toEqual([]);
    expect(await b.connections()).toBe(0);
  });

  it('an endpoint that closes gracefully (FIN) ends the session even with retry_on always', async () => {
    const a = await tcpEchoServer(resources, { tag: 'A:' });
    const b = await tcpEchoServer(resources, { tag: 'B:' });
    const { proxy, port, ended } = await tcpProxy(
      [
        { name: 'A', port: a.port },
        { name: 'B', port: b.port },
      ],
      { retry_on: 'always', num_retries: 1, timeout: 300 },
    );
    const client = await tcpClient(resources, { port });
    expect(await ask(client, 'one')).toBe('A');
    for (const socket of [...a.sockets]) socket.end();
    // The end is passed on to the client, like any half-close.
    await client.data.waitEnd();
    await within(client.closed, 'the client to be closed');
    await waitFor(() => ended.length === 1, 'the session to end');
    expect(ended[0]?.error).toBeUndefined();
    expect(liveSessionNames(proxy)).toEqual([]);
    expect(await b.connections()).toBe(0);
  });
});

describe('closing the proxy', () => {
  it('releases the connections of sessions that already ended but still linger', async () => {
    const a = await tcpEchoServer(resources, { tag: 'A:' });
    const { proxy, port, ended } = await tcpProxy([{ name: 'A', port: a.port }], { retry_on: 'never' });
    // This client keeps its side open after the proxy half-closes, so the proxy's socket lingers.
    const client = await tcpClient(resources, { port }, { allowHalfOpen: true });
    expect(await ask(client, 'one')).toBe('A');
    await kill(a);
    await client.data.waitEnd();
    await waitFor(() => ended.length === 1, 'the session to end');
    await proxy.close();
    // A write to a socket the proxy has closed is answered with a reset, which closes the client.
    const probe = setInterval(() => {
      if (client.socket.writable) client.socket.write('?', () => undefined);
    }, 50);
    try {
      await within(client.closed, 'the connection to be released by close()', 1000);
    } finally {
      clearInterval(probe);
    }
  });
});
