import { afterEach, describe, expect, it } from '@jest/globals';
import { createProxy, type Proxy } from '@l7mp/core';
import { udpTransport } from '../src';
import { Resources } from './helpers';

/** Polls `condition` until it holds (bounded), for state that has no event to wait on. */
async function eventually(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const resources = new Resources();
let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await resources.release();
});

const echoRoute = { action: { route: { destination: { spec: { protocol: 'Echo' } } } } };

function portOf(proxyUnderTest: Proxy, listener: string): number {
  const bound = proxyUnderTest.listenerAddress(listener);
  if (bound === undefined || !('port' in bound)) throw new Error(`listener ${listener} has no port`);
  return bound.port;
}

describe('UDP in a proxy (createProxy({ transports: [udpTransport] }))', () => {
  it('makes one session per peer and echoes every datagram, the first included', async () => {
    proxy = createProxy({ transports: [udpTransport] });
    await proxy.addListener({
      name: 'udp-in',
      spec: { protocol: 'UDP', port: 0, address: '127.0.0.1' },
      rules: [echoRoute],
    });
    const port = portOf(proxy, 'udp-in');
    const a = await resources.peer();
    const b = await resources.peer();
    for (let i = 0; i < 10; i++) a.send(`a${i}`, port, '127.0.0.1');
    b.send('b0', port, '127.0.0.1');
    expect(await a.waitFor(10)).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`));
    expect(await b.waitFor(1)).toEqual(['b0']);
    const names = proxy.sessions().map((s) => s.name);
    expect(names).toHaveLength(2);
    expect(names).toContain(`UDP:127.0.0.1:${a.port}-127.0.0.1:${port}-0`);
  });

  it('fails the add of a listener whose port is taken and leaves nothing behind', async () => {
    proxy = createProxy({ transports: [udpTransport] });
    const holder = await resources.peer();
    await expect(
      proxy.addListener({
        name: 'clash',
        spec: { protocol: 'UDP', port: holder.port, address: '127.0.0.1' },
        rules: [echoRoute],
      }),
    ).rejects.toThrow(/Could not bind to 127.0.0.1/);
    expect(proxy.listListeners().map((l) => l.name)).not.toContain('clash');
  });

  it('reconnects a singleton source after its remote went away (retry_on: always)', async () => {
    proxy = createProxy({ transports: [udpTransport] });
    let remote = await resources.peer();
    const remotePort = remote.port;
    const upstream = await resources.peer();
    await proxy.addListener({
      name: 'single',
      spec: {
        protocol: 'UDP',
        port: 0,
        address: '127.0.0.1',
        connect: { address: '127.0.0.1', port: remotePort },
      },
      rules: [
        {
          action: {
            route: {
              destination: {
                spec: { protocol: 'UDP', port: upstream.port },
                endpoints: [{ spec: { address: '127.0.0.1' } }],
              },
              retry: { retry_on: 'always', num_retries: 2, timeout: 500 },
            },
          },
        },
      ],
    });
    const port = portOf(proxy, 'single');
    remote.send('first', port, '127.0.0.1');
    expect(await upstream.waitFor(1)).toEqual(['first']);
    const clusterSide = upstream.messages[0]?.from;
    if (clusterSide === undefined) throw new Error('no sender seen at the upstream');

    // The remote goes away; the next datagram towards it draws ECONNREFUSED and the source reconnects.
    remote.socket.close();
    upstream.send('to a closed port', clusterSide.port, '127.0.0.1');
    const eventsOf = (): string[] =>
      ((proxy?.sessions()[0]?.events as { event: string }[] | undefined) ?? []).map((e) => e.event);
    await eventually(
      () => eventsOf().filter((e) => e === 'CONNECT').length === 2,
      3000,
      'the source to reconnect',
    );
    expect(eventsOf()).toContain('DISCONNECT');
    expect(proxy.sessions()).toHaveLength(1);

    // The same local port was re-bound: the remote, back on its port, reaches the upstream again.
    remote = await resources.peerOn(remotePort);
    remote.send('again', port, '127.0.0.1');
    expect(await upstream.waitFor(2)).toEqual(['first', 'again']);
  });
});
