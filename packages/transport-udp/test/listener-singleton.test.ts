import { afterEach, describe, expect, it } from '@jest/globals';
import type { Conduit } from '@l7mp/core';
import { collect, makeListenerContext } from '@l7mp/core/testing';
import {
  SINGLETON_WITHOUT_REMOTE,
  UdpListener,
  UdpListenerClosedError,
  UdpListenerConfigError,
  UdpListenerStartError,
  udpTransport,
} from '../src';
import { quietPeriod, Resources } from './helpers';

const resources = new Resources();
afterEach(() => resources.release());

function reconnectOf(connection: { reconnect?: () => Promise<Conduit> }): () => Promise<Conduit> {
  const reconnect = connection.reconnect;
  if (reconnect === undefined) throw new Error('the singleton connection has no reconnect()');
  return reconnect;
}

describe('UDP listener, singleton mode', () => {
  it('hands one connection to the proxy at start, before any traffic, and carries I/O both ways', async () => {
    const remote = await resources.peer();
    const { context, listener, port, address } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      connect: { address: '127.0.0.1', port: remote.port },
    });
    expect(listener.mode).toBe('singleton');
    expect(address).toBe('0.0.0.0');
    expect(context.connections).toHaveLength(1);
    const connection = await context.nextConnection();
    expect(connection.name).toBe(`UDP:127.0.0.1:${remote.port}-0.0.0.0:${port}-0`);
    expect(connection.metadata).toEqual({
      IP: { src_addr: '127.0.0.1', dst_addr: '0.0.0.0' },
      UDP: { src_port: remote.port, dst_port: port },
    });
    expect(typeof connection.reconnect).toBe('function');
    expect(connection.conduit.kind).toBe('datagram');

    const at = collect(connection.conduit);
    connection.conduit.write(Buffer.from('to remote'));
    expect(await remote.waitFor(1)).toEqual(['to remote']);
    expect(remote.messages[0]?.from.port).toBe(port);
    remote.send('from remote', port, '127.0.0.1');
    expect((await at.waitFor(1)).map(String)).toEqual(['from remote']);
  });

  it('ignores datagrams from anyone but the remote (the socket is connected)', async () => {
    const remote = await resources.peer();
    const stranger = await resources.peer();
    const { context, port } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      address: '127.0.0.1',
      connect: { address: '127.0.0.1', port: remote.port },
    });
    const at = collect((await context.nextConnection()).conduit);
    stranger.send('intruder', port, '127.0.0.1');
    remote.send('legit', port, '127.0.0.1');
    expect((await at.waitFor(1)).map(String)).toEqual(['legit']);
    await quietPeriod(50);
    expect(at.messages).toHaveLength(1);
    expect(context.connections).toHaveLength(1);
  });

  it('reconnects on the same local port after the conduit was destroyed', async () => {
    const remote = await resources.peer();
    const { context, port } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      connect: { address: '127.0.0.1', port: remote.port },
    });
    const connection = await context.nextConnection();
    connection.conduit.destroy();
    const fresh = resources.conduit(await reconnectOf(connection)());
    expect(fresh).not.toBe(connection.conduit);
    expect(fresh.closed).toBe(false);
    const at = collect(fresh);
    fresh.write(Buffer.from('after reconnect'));
    expect(await remote.waitFor(1)).toEqual(['after reconnect']);
    expect(remote.messages[0]?.from.port).toBe(port);
    remote.send('welcome back', port, '127.0.0.1');
    expect((await at.waitFor(1)).map(String)).toEqual(['welcome back']);
  });

  it('shares one attempt between concurrent reconnects', async () => {
    const remote = await resources.peer();
    const { context } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      connect: { address: '127.0.0.1', port: remote.port },
    });
    const connection = await context.nextConnection();
    const reconnect = reconnectOf(connection);
    const [first, second] = await Promise.all([reconnect(), reconnect()]);
    resources.conduit(first);
    expect(second).toBe(first);
    const third = resources.conduit(await reconnect());
    expect(third).not.toBe(first);
    expect(first.closed).toBe(true);
  });

  it('reconnect replaces a conduit that is still open', async () => {
    const remote = await resources.peer();
    const { context, port } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      connect: { address: '127.0.0.1', port: remote.port },
    });
    const connection = await context.nextConnection();
    const old = collect(connection.conduit);
    const fresh = resources.conduit(await reconnectOf(connection)());
    expect(old.closed).toBe(true);
    const at = collect(fresh);
    remote.send('to the new one', port, '127.0.0.1');
    expect((await at.waitFor(1)).map(String)).toEqual(['to the new one']);
  });

  it('closes the conduit with ECONNREFUSED when nothing listens at the remote', async () => {
    const gone = await resources.peer();
    const remotePort = gone.port;
    gone.socket.close();
    const { context } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      address: '127.0.0.1',
      connect: { address: '127.0.0.1', port: remotePort },
    });
    const connection = await context.nextConnection();
    const at = collect(connection.conduit);
    connection.conduit.write(Buffer.from('anyone?'));
    const error = await at.waitForClose();
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('drops the connection when routing fails', async () => {
    const remote = await resources.peer();
    const { context } = await resources.listener(
      { protocol: 'UDP', port: 0, connect: { address: '127.0.0.1', port: remote.port } },
      () => ({ ok: false, status: 404, message: 'No route' }),
    );
    const connection = await context.nextConnection();
    await collect(connection.conduit).waitForClose();
  });

  it('refuses to reconnect once the listener is closed, leaving the live conduit alone', async () => {
    const remote = await resources.peer();
    const { context, listener } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      connect: { address: '127.0.0.1', port: remote.port },
    });
    const connection = await context.nextConnection();
    await listener.close();
    expect(connection.conduit.closed).toBe(false);
    connection.conduit.write(Buffer.from('still alive'));
    expect(await remote.waitFor(1)).toEqual(['still alive']);
    await expect(reconnectOf(connection)()).rejects.toBeInstanceOf(UdpListenerClosedError);
  });

  it('works over IPv6', async () => {
    const remote = await resources.peer('udp6');
    const { context, port, address } = await resources.listener({
      protocol: 'UDP',
      port: 0,
      connect: { address: '::1', port: remote.port },
    });
    expect(address).toBe('::');
    const connection = await context.nextConnection();
    expect(connection.metadata).toEqual({
      IP: { src_addr: '::1', dst_addr: '::' },
      UDP: { src_port: remote.port, dst_port: port },
    });
    connection.conduit.write(Buffer.from('v6'));
    expect(await remote.waitFor(1)).toEqual(['v6']);
  });

  it('throws at creation when singleton mode lacks a remote', () => {
    const context = makeListenerContext(
      { protocol: 'UDP', port: 0, connect: { port: 9 }, options: { mode: 'singleton' } },
      undefined,
      { name: 'lonely' },
    );
    const create = (): unknown => udpTransport.listeners?.[0]?.create(context);
    expect(create).toThrow(UdpListenerConfigError);
    expect(create).toThrow(`UDP listener "lonely": ${SINGLETON_WITHOUT_REMOTE}`);
    try {
      create();
    } catch (error) {
      expect(error).toMatchObject({ status: 400, path: ['listeners', 'lonely', 'spec', 'options', 'mode'] });
    }
  });

  it('throws at creation for a spec of another protocol', () => {
    const context = makeListenerContext({ protocol: 'TCP', port: 0 }, undefined, { name: 'wrong' });
    expect(() => new UdpListener(context)).toThrow(
      'UDP listener "wrong": expected a UDP spec, got protocol "TCP"',
    );
  });

  it('rejects start when the remote host does not resolve, leaving nothing bound', async () => {
    const context = makeListenerContext(
      {
        protocol: 'UDP',
        port: 0,
        address: '127.0.0.1',
        connect: { address: 'no-such-host.invalid', port: 9 },
      },
      undefined,
      { name: 'nowhere' },
    );
    const listener = new UdpListener(context);
    const error = await listener.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UdpListenerStartError);
    expect((error as Error).message).toMatch(
      /^UDPListener.run: "nowhere": Could not connect to no-such-host.invalid:9: /,
    );
    expect(context.connections).toHaveLength(0);
    expect(listener.address()).toBeUndefined();
    await expect(listener.close()).resolves.toBeUndefined();
  });

  it('rejects start when the local port is held exclusively', async () => {
    const remote = await resources.peer();
    const holder = await resources.peer();
    const context = makeListenerContext(
      {
        protocol: 'UDP',
        port: holder.port,
        address: '127.0.0.1',
        connect: { address: '127.0.0.1', port: remote.port },
      },
      undefined,
      { name: 'taken' },
    );
    const listener = new UdpListener(context);
    await expect(listener.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(context.connections).toHaveLength(0);
  });

  it('start rejects if the listener was closed while it was starting', async () => {
    const remote = await resources.peer();
    const context = makeListenerContext(
      { protocol: 'UDP', port: 0, connect: { address: '127.0.0.1', port: remote.port } },
      undefined,
      { name: 'hasty' },
    );
    const listener = new UdpListener(context);
    const starting = listener.start();
    await listener.close();
    await expect(starting).rejects.toBeInstanceOf(UdpListenerClosedError);
    expect(context.connections).toHaveLength(0);
  });
});
