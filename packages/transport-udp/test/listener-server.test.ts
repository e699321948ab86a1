import { afterEach, describe, expect, it } from '@jest/globals';
import type { AcceptResult } from '@l7mp/core';
import { collect, createTestLogger, makeListenerContext } from '@l7mp/core/testing';
import { UdpListener, UdpListenerStartError, udpListenerMode } from '../src';
import { quietPeriod, Resources } from './helpers';

const resources = new Resources();
afterEach(() => resources.release());

describe('UDP listener, server mode', () => {
  it('is the mode without a complete connect pair, or when asked for', () => {
    expect(udpListenerMode({ protocol: 'UDP', port: 1 })).toBe('server');
    expect(udpListenerMode({ protocol: 'UDP', port: 1, connect: { port: 5 } })).toBe('server');
    expect(udpListenerMode({ protocol: 'UDP', port: 1, connect: { address: '127.0.0.1' } })).toBe('server');
    expect(
      udpListenerMode({
        protocol: 'UDP',
        port: 1,
        connect: { address: '127.0.0.1', port: 5 },
        options: { mode: 'server' },
      }),
    ).toBe('server');
    expect(udpListenerMode({ protocol: 'UDP', port: 1, connect: { address: '127.0.0.1', port: 5 } })).toBe(
      'singleton',
    );
  });

  it('gives two clients two sessions, names and metadata, the first datagram first', async () => {
    const { context, port, address, listener } = await resources.listener({ protocol: 'UDP', port: 0 });
    expect(address).toBe('0.0.0.0');
    const a = await resources.peer();
    const b = await resources.peer();
    a.send('connect1', port, '127.0.0.1');
    const first = await context.nextConnection();
    b.send('connect2', port, '127.0.0.1');
    const second = await context.nextConnection();

    expect(first.name).toBe(`UDP:127.0.0.1:${a.port}-0.0.0.0:${port}-0`);
    expect(second.name).toBe(`UDP:127.0.0.1:${b.port}-0.0.0.0:${port}-1`);
    expect(first.metadata).toEqual({
      IP: { src_addr: '127.0.0.1', dst_addr: '0.0.0.0' },
      UDP: { src_port: a.port, dst_port: port },
    });
    expect(first.conduit.kind).toBe('datagram');
    expect(listener.peerCount).toBe(2);

    const atFirst = collect(first.conduit);
    const atSecond = collect(second.conduit);
    expect((await atFirst.waitFor(1)).map(String)).toEqual(['connect1']);
    expect((await atSecond.waitFor(1)).map(String)).toEqual(['connect2']);

    a.send('more from a', port, '127.0.0.1');
    expect((await atFirst.waitFor(2)).map(String)).toEqual(['connect1', 'more from a']);
    first.conduit.write(Buffer.from('to a'));
    second.conduit.write(Buffer.from('to b'));
    expect(await a.waitFor(1)).toEqual(['to a']);
    expect(await b.waitFor(1)).toEqual(['to b']);
    // The answer comes from the listener's port, so the peer's "connection" is consistent.
    expect(a.messages[0]?.from.port).toBe(port);
    expect(atSecond.messages).toHaveLength(1);
  });

  it('makes exactly one session of a burst of first datagrams, delivering all of them in order', async () => {
    const { context, port, listener } = await resources.listener({ protocol: 'UDP', port: 0 });
    const peer = await resources.peer();
    const burst = Array.from({ length: 20 }, (_, i) => `packet-${i}`);
    for (const text of burst) peer.send(text, port, '127.0.0.1');
    const connection = await context.nextConnection();
    const received = await collect(connection.conduit).waitFor(20);
    expect(received.map(String)).toEqual(burst);
    await quietPeriod(100);
    expect(context.connections).toHaveLength(1);
    expect(listener.peerCount).toBe(1);
  });

  it('delivers datagrams that arrive while routing is still pending', async () => {
    let release: (result: AcceptResult) => void = () => {};
    const routed = new Promise<AcceptResult>((resolve) => (release = resolve));
    const { context, port } = await resources.listener({ protocol: 'UDP', port: 0 }, () => routed);
    const peer = await resources.peer();
    peer.send('one', port, '127.0.0.1');
    const connection = await context.nextConnection();
    peer.send('two', port, '127.0.0.1');
    peer.send('three', port, '127.0.0.1');
    await quietPeriod(50);
    expect(context.connections).toHaveLength(1);
    release({ ok: true, status: 200, message: 'OK' });
    const received = await collect(connection.conduit).waitFor(3);
    expect(received.map(String)).toEqual(['one', 'two', 'three']);
  });

  it('forgets a peer whose routing failed, so that its next datagram is routed again', async () => {
    let attempts = 0;
    const { context, port, listener } = await resources.listener({ protocol: 'UDP', port: 0 }, () => {
      attempts++;
      return attempts === 1
        ? { ok: false, status: 404, message: 'No route' }
        : { ok: true, status: 200, message: 'OK' };
    });
    const peer = await resources.peer();
    peer.send('first try', port, '127.0.0.1');
    const failed = await context.nextConnection();
    await collect(failed.conduit).waitForClose();
    expect(listener.peerCount).toBe(0);

    peer.send('second try', port, '127.0.0.1');
    const routed = await context.nextConnection();
    expect(routed.name).toBe(`UDP:127.0.0.1:${peer.port}-0.0.0.0:${port}-1`);
    expect((await collect(routed.conduit).waitFor(1)).map(String)).toEqual(['second try']);
    expect(listener.peerCount).toBe(1);
  });

  it('forgets a peer whose accept threw, closing its conduit with that error', async () => {
    const { context, port, listener } = await resources.listener({ protocol: 'UDP', port: 0 }, () => {
      throw new Error('proxy exploded');
    });
    const peer = await resources.peer();
    peer.send('x', port, '127.0.0.1');
    const connection = await context.nextConnection();
    const error = await collect(connection.conduit).waitForClose();
    expect(error?.message).toBe('proxy exploded');
    expect(listener.peerCount).toBe(0);
  });

  it('frees the peer entry when the conduit is destroyed or ended', async () => {
    const { context, port, listener } = await resources.listener({ protocol: 'UDP', port: 0 });
    const a = await resources.peer();
    const b = await resources.peer();
    a.send('a', port, '127.0.0.1');
    const first = await context.nextConnection();
    b.send('b', port, '127.0.0.1');
    const second = await context.nextConnection();
    expect(listener.peerCount).toBe(2);
    first.conduit.destroy();
    second.conduit.end();
    expect(second.conduit.closed).toBe(true);
    expect(listener.peerCount).toBe(0);
    expect(second.conduit.write(Buffer.from('late'))).toBe(false);
    a.send('a again', port, '127.0.0.1');
    const third = await context.nextConnection();
    expect(third.name.endsWith('-2')).toBe(true);
  });

  it('filters peers by connect.address and connect.port, counting and logging the rest', async () => {
    const allowed = await resources.peer();
    const other = await resources.peer();
    const logger = createTestLogger();
    const context = makeListenerContext(
      {
        protocol: 'UDP',
        port: 0,
        address: '127.0.0.1',
        connect: { address: '127.0.0.1', port: allowed.port },
        options: { mode: 'server' },
      },
      undefined,
      { name: 'filtered', logger },
    );
    const listener = new UdpListener(context);
    expect(listener.mode).toBe('server');
    await listener.start();
    try {
      const port = listener.address()?.port ?? 0;
      other.send('intruder', port, '127.0.0.1');
      other.send('intruder again', port, '127.0.0.1');
      allowed.send('welcome', port, '127.0.0.1');
      const connection = await context.nextConnection();
      expect(connection.metadata).toMatchObject({ UDP: { src_port: allowed.port } });
      expect((await collect(connection.conduit).waitFor(1)).map(String)).toEqual(['welcome']);
      await quietPeriod(50);
      expect(context.connections).toHaveLength(1);
      expect(listener.filteredDatagrams).toBe(2);
      const drops = logger.records.filter((r) => r.level === 20 && String(r.msg).includes('filter'));
      expect(drops).toHaveLength(2);
      connection.conduit.destroy();
    } finally {
      await listener.close();
    }
  });

  it('filters by port only', async () => {
    const allowed = await resources.peer();
    const other = await resources.peer();
    const { context, port, listener } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      connect: { port: allowed.port },
    });
    other.send('no', port, '127.0.0.1');
    allowed.send('yes', port, '127.0.0.1');
    const connection = await context.nextConnection();
    expect((await collect(connection.conduit).waitFor(1)).map(String)).toEqual(['yes']);
    expect(listener.filteredDatagrams).toBe(1);
  });

  it('filters by an address that matches no peer', async () => {
    const peer = await resources.peer();
    const { context, port, listener } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      connect: { address: '127.0.0.2' },
    });
    peer.send('no', port, '127.0.0.1');
    peer.send('still no', port, '127.0.0.1');
    await quietPeriod(100);
    expect(context.connections).toHaveLength(0);
    expect(listener.filteredDatagrams).toBe(2);
  });

  it('resolves a peer filter given as a host name', async () => {
    const peer = await resources.peer();
    const { context, port } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      address: '127.0.0.1',
      connect: { address: 'localhost' },
    });
    peer.send('by name', port, '127.0.0.1');
    const connection = await context.nextConnection();
    expect((await collect(connection.conduit).waitFor(1)).map(String)).toEqual(['by name']);
  });

  it('closes a quiet peer after idle_timeout but keeps a busy one', async () => {
    const { context, port, listener } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      options: { idle_timeout: 200 },
    });
    const quiet = await resources.peer();
    const busy = await resources.peer();
    quiet.send('hello', port, '127.0.0.1');
    const quietConnection = await context.nextConnection();
    busy.send('hello', port, '127.0.0.1');
    const busyConnection = await context.nextConnection();
    const atQuiet = collect(quietConnection.conduit);
    const atBusy = collect(busyConnection.conduit);
    const started = Date.now();
    const ticker = setInterval(() => busy.send('tick', port, '127.0.0.1'), 40);
    try {
      expect(await atQuiet.waitForClose(2000)).toBeUndefined();
      const quietFor = Date.now() - started;
      expect(quietFor).toBeGreaterThanOrEqual(150);
      expect(quietFor).toBeLessThan(1000);
      expect(atBusy.closed).toBe(false);
      expect(listener.peerCount).toBe(1);
    } finally {
      clearInterval(ticker);
    }
    // Without traffic the busy peer goes too.
    await atBusy.waitForClose(2000);
    expect(listener.peerCount).toBe(0);
  });

  it('counts writes towards the peer as activity', async () => {
    const { context, port } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      options: { idle_timeout: 150 },
    });
    const peer = await resources.peer();
    peer.send('hello', port, '127.0.0.1');
    const connection = await context.nextConnection();
    const at = collect(connection.conduit);
    const ticker = setInterval(() => connection.conduit.write(Buffer.from('push')), 30);
    try {
      await quietPeriod(400);
      expect(at.closed).toBe(false);
      expect(peer.messages.length).toBeGreaterThan(3);
    } finally {
      clearInterval(ticker);
    }
    await at.waitForClose(2000);
  });

  it('never closes idle peers without idle_timeout', async () => {
    const { context, port } = await resources.listener({ protocol: 'UDP', port: 0 });
    const peer = await resources.peer();
    peer.send('hello', port, '127.0.0.1');
    const connection = await context.nextConnection();
    await quietPeriod(300);
    expect(connection.conduit.closed).toBe(false);
  });

  it('binds the given address only', async () => {
    const { context, port, address } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      address: '127.0.0.1',
    });
    expect(address).toBe('127.0.0.1');
    const peer = await resources.peer();
    peer.send('hi', port, '127.0.0.1');
    const connection = await context.nextConnection();
    expect(connection.name).toBe(`UDP:127.0.0.1:${peer.port}-127.0.0.1:${port}-0`);
    expect(connection.metadata).toMatchObject({ IP: { dst_addr: '127.0.0.1' } });
  });

  it('serves IPv6 peers on an IPv6 address', async () => {
    const { context, port, address } = await resources.listener({ protocol: 'UDP', port: 0, address: '::1' });
    expect(address).toBe('::1');
    const peer = await resources.peer('udp6');
    peer.send('over v6', port, '::1');
    const connection = await context.nextConnection();
    expect(connection.name).toBe(`UDP:::1:${peer.port}-::1:${port}-0`);
    expect(connection.metadata).toEqual({
      IP: { src_addr: '::1', dst_addr: '::1' },
      UDP: { src_port: peer.port, dst_port: port },
    });
    expect((await collect(connection.conduit).waitFor(1)).map(String)).toEqual(['over v6']);
    connection.conduit.write(Buffer.from('back over v6'));
    expect(await peer.waitFor(1)).toEqual(['back over v6']);
  });

  it('reports IPv4 peers of a dual-stack "::" listener as Node does', async () => {
    const { context, port, address } = await resources.listener({ protocol: 'UDP', port: 0, address: '::' });
    expect(address).toBe('::');
    const peer = await resources.peer('udp4');
    peer.send('v4 on v6', port, '127.0.0.1');
    const connection = await context.nextConnection();
    expect(connection.metadata).toMatchObject({ IP: { src_addr: '::ffff:127.0.0.1', dst_addr: '::' } });
    connection.conduit.write(Buffer.from('answer'));
    expect(await peer.waitFor(1)).toEqual(['answer']);
  });

  it('rejects start when the port is held exclusively, leaving nothing bound', async () => {
    const holder = resources.track((await resources.peer()).socket);
    const heldPort = holder.address().port;
    const context = makeListenerContext(
      { protocol: 'UDP', port: heldPort, address: '127.0.0.1' },
      undefined,
      {
        name: 'clash',
      },
    );
    const listener = new UdpListener(context);
    const error = await listener.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UdpListenerStartError);
    expect((error as UdpListenerStartError).code).toBe('EADDRINUSE');
    expect((error as Error).message).toBe(
      `UDPListener.run: "clash": Could not bind to 127.0.0.1:${heldPort}: bind EADDRINUSE 127.0.0.1:${heldPort}`,
    );
    expect(listener.address()).toBeUndefined();
    await listener.close();
  });

  it('rejects start for an address that is not on this host', async () => {
    const context = makeListenerContext({ protocol: 'UDP', port: 0, address: '192.0.2.1' }, undefined, {
      name: 'elsewhere',
    });
    const listener = new UdpListener(context);
    await expect(listener.start()).rejects.toMatchObject({
      name: 'UdpListenerStartError',
      code: 'EADDRNOTAVAIL',
    });
    expect(listener.address()).toBeUndefined();
  });

  it('rejects start when the peer filter host name does not resolve', async () => {
    const context = makeListenerContext(
      { protocol: 'UDP', port: 0, connect: { address: 'no-such-host.invalid' } },
      undefined,
      { name: 'bad-filter' },
    );
    const listener = new UdpListener(context);
    await expect(listener.start()).rejects.toThrow(
      /UDPListener.run: "bad-filter": Could not resolve peer filter address no-such-host.invalid/,
    );
    expect(listener.address()).toBeUndefined();
  });

  it('refuses a second start', async () => {
    const { listener } = await resources.listener({ protocol: 'UDP', port: 0 });
    await expect(listener.start()).rejects.toThrow('UDP listener "udp-test": start() called twice');
  });

  it('stops accepting on close but keeps live peers until they end, then frees the port', async () => {
    const { context, port, listener } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      address: '127.0.0.1',
    });
    const live = await resources.peer();
    const late = await resources.peer();
    live.send('before close', port, '127.0.0.1');
    const connection = await context.nextConnection();
    const at = collect(connection.conduit);
    await listener.close();

    live.send('after close', port, '127.0.0.1');
    expect((await at.waitFor(2)).map(String)).toEqual(['before close', 'after close']);
    connection.conduit.write(Buffer.from('still here'));
    expect(await live.waitFor(1)).toEqual(['still here']);
    late.send('too late', port, '127.0.0.1');
    await quietPeriod(100);
    expect(context.connections).toHaveLength(1);

    expect(await resources.bindsExclusively(port, '127.0.0.1')).toBe(false);
    connection.conduit.destroy();
    // The last peer took the socket with it: a bind without SO_REUSEADDR now succeeds.
    expect(await resources.bindsExclusively(port, '127.0.0.1')).toBe(true);
  });

  it('closes the socket at once when no peer is live', async () => {
    const { listener, port } = await resources.listener({ protocol: 'UDP', port: 0, address: '127.0.0.1' });
    expect(await resources.bindsExclusively(port, '127.0.0.1')).toBe(false);
    await listener.close();
    expect(await resources.bindsExclusively(port, '127.0.0.1')).toBe(true);
    await listener.close();
  });
});
