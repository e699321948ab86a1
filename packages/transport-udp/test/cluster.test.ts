import { lookup as dnsLookup } from 'node:dns';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { ClusterSpec } from '@l7mp/config';
import { ConnectError, ConnectTimeoutError, type ConnectRequest, type EndpointTarget } from '@l7mp/core';
import { collect, makeClusterContext } from '@l7mp/core/testing';
import { ConnectedDatagramConduit, UdpCluster, udpTransport, type DgramLookup } from '../src';
import { Resources } from './helpers';

const resources = new Resources();
afterEach(() => resources.release());

function endpoint(spec: EndpointTarget['spec'], name = 'e1'): EndpointTarget {
  return { name, spec, weight: 1 };
}

function request(
  target: EndpointTarget | undefined,
  overrides: Partial<ConnectRequest> = {},
): ConnectRequest {
  return {
    endpoint: target,
    sessionName: 's1',
    metadata: {},
    timeoutMs: 2000,
    signal: new AbortController().signal,
    ...overrides,
  };
}

function cluster(spec: ClusterSpec, lookup?: DgramLookup): UdpCluster {
  return new UdpCluster(makeClusterContext(spec, { name: 'c1' }), lookup !== undefined ? { lookup } : {});
}

/** Resolves "hang.test" never (a connect stuck in name resolution), everything else normally. */
const hangingLookup: DgramLookup = (hostname, options, callback) => {
  if (hostname === 'hang.test') return;
  dnsLookup(hostname, options, callback);
};

describe('UDP cluster', () => {
  it('is registered for protocol UDP and is a retriable, non-virtual datagram cluster', () => {
    expect(udpTransport.name).toBe('udp');
    const factory = udpTransport.clusters?.find((f) => f.protocol === 'UDP');
    const created = factory?.create(makeClusterContext({ protocol: 'UDP', port: 9 }));
    expect(created).toBeInstanceOf(UdpCluster);
    expect(created).toMatchObject({ kind: 'datagram', virtual: false, retriable: true });
    expect(udpTransport.listeners?.map((f) => f.protocol)).toEqual(['UDP']);
  });

  it('connects to an echo server with the cluster port and exchanges datagrams', async () => {
    const echo = await resources.echoServer();
    const udp = cluster({ protocol: 'UDP', port: echo.port });
    const conduit = resources.conduit(await udp.connect(request(endpoint({ address: '127.0.0.1' }))));
    expect(conduit.kind).toBe('datagram');
    const at = collect(conduit);
    conduit.write(Buffer.from('ping'));
    conduit.write(Buffer.from('pong'));
    expect((await at.waitFor(2)).map(String)).toEqual(['ping', 'pong']);
  });

  it("prefers the endpoint's own port", async () => {
    const echo = await resources.echoServer();
    const udp = cluster({ protocol: 'UDP', port: 9 });
    const conduit = resources.conduit(
      await udp.connect(request(endpoint({ address: '127.0.0.1', port: echo.port }))),
    );
    const at = collect(conduit);
    conduit.write(Buffer.from('own port'));
    expect((await at.waitFor(1)).map(String)).toEqual(['own port']);
  });

  it('binds the local address and port of spec.bind', async () => {
    const echo = await resources.echoServer();
    const free = await resources.peer();
    const localPort = free.port;
    free.socket.close();
    const udp = cluster({
      protocol: 'UDP',
      port: echo.port,
      bind: { address: '127.0.0.1', port: localPort },
    });
    const conduit = resources.conduit(await udp.connect(request(endpoint({ address: '127.0.0.1' }))));
    const at = collect(conduit);
    conduit.write(Buffer.from('from a fixed port'));
    expect((await at.waitFor(1)).map(String)).toEqual(['from a fixed port']);
    expect(echo.messages[0]?.from).toMatchObject({ address: '127.0.0.1', port: localPort });
  });

  it('connects over IPv6', async () => {
    const echo = await resources.echoServer('udp6');
    const udp = cluster({ protocol: 'UDP', port: echo.port });
    const conduit = resources.conduit(await udp.connect(request(endpoint({ address: '::1' }))));
    const at = collect(conduit);
    conduit.write(Buffer.from('v6 ping'));
    expect((await at.waitFor(1)).map(String)).toEqual(['v6 ping']);
  });

  it('closes the conduit with ECONNREFUSED when nothing listens at the endpoint', async () => {
    const gone = await resources.peer();
    const port = gone.port;
    gone.socket.close();
    const conduit = resources.conduit(
      await cluster({ protocol: 'UDP', port }).connect(request(endpoint({ address: '127.0.0.1' }))),
    );
    const at = collect(conduit);
    conduit.write(Buffer.from('hello?'));
    expect(await at.waitForClose()).toMatchObject({ code: 'ECONNREFUSED' });
    expect(conduit.write(Buffer.from('again'))).toBe(false);
  });

  it('rejects an endpoint without address', async () => {
    const udp = cluster({ protocol: 'UDP', port: 9 });
    const attempt = udp.connect(request(endpoint({ port: 9 }, 'no-addr')));
    await expect(attempt).rejects.toBeInstanceOf(ConnectError);
    await expect(attempt).rejects.toThrow(
      'UDP cluster "c1": endpoint "no-addr": No remote addr:port pair defined (the endpoint has no address)',
    );
  });

  it('rejects a bad endpoint port', async () => {
    const udp = cluster({ protocol: 'UDP', port: 9 });
    await expect(udp.connect(request(endpoint({ address: '127.0.0.1', port: 70000 })))).rejects.toThrow(
      'UDP cluster "c1": endpoint "e1": No remote addr:port pair defined (bad port 70000)',
    );
  });

  it('rejects a connect without endpoint', async () => {
    await expect(cluster({ protocol: 'UDP', port: 9 }).connect(request(undefined))).rejects.toThrow(
      'UDP cluster "c1": no endpoint to connect to',
    );
  });

  it('rejects an address that does not resolve', async () => {
    const attempt = cluster({ protocol: 'UDP', port: 9 }).connect(
      request(endpoint({ address: 'no-such-host.invalid' })),
    );
    await expect(attempt).rejects.toBeInstanceOf(ConnectError);
    await expect(attempt).rejects.toThrow(
      /^UDP cluster "c1": endpoint "e1" \(no-such-host.invalid:9\): .*ENOTFOUND/,
    );
  });

  it('rejects when the bind address is not on this host', async () => {
    const udp = cluster({ protocol: 'UDP', port: 9, bind: { address: '192.0.2.1' } });
    await expect(udp.connect(request(endpoint({ address: '127.0.0.1' })))).rejects.toThrow(/EADDRNOTAVAIL/);
  });

  it('times out a connect that does not complete', async () => {
    const udp = cluster({ protocol: 'UDP', port: 9 }, hangingLookup);
    const started = Date.now();
    const attempt = udp.connect(request(endpoint({ address: 'hang.test' }), { timeoutMs: 150 }));
    await expect(attempt).rejects.toBeInstanceOf(ConnectTimeoutError);
    await expect(attempt).rejects.toThrow(
      'UDP cluster "c1": endpoint "e1" (hang.test:9): connect timed out after 150 ms',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('gives up when the signal aborts during the connect', async () => {
    const udp = cluster({ protocol: 'UDP', port: 9 }, hangingLookup);
    const controller = new AbortController();
    const attempt = udp.connect(
      request(endpoint({ address: 'hang.test' }), { signal: controller.signal, timeoutMs: 0 }),
    );
    controller.abort(new Error('session gone'));
    await expect(attempt).rejects.toThrow('UDP cluster "c1": endpoint "e1" (hang.test:9): connect aborted');
    await expect(attempt).rejects.toMatchObject({ cause: { message: 'session gone' } });
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      cluster({ protocol: 'UDP', port: 9 }).connect(
        request(endpoint({ address: '127.0.0.1' }), { signal: controller.signal }),
      ),
    ).rejects.toThrow('connect aborted');
  });

  it('throws at creation for a spec of another protocol', () => {
    expect(() => cluster({ protocol: 'TCP', port: 9 })).toThrow(
      'UDP cluster "c1": expected a UDP spec, got protocol "TCP"',
    );
  });
  it('gives every connect its own ephemeral port, so concurrent sessions never share replies', async () => {
    // With SO_REUSEADDR on ephemeral sockets the kernel hands out ports that other such sockets
    // hold: among 400 sockets a shared port is all but certain, and the echo of one session then
    // lands on another's socket.
    const echo = await resources.echoServer();
    const udp = cluster({ protocol: 'UDP', port: echo.port });
    const conduits = await Promise.all(
      Array.from({ length: 400 }, async () =>
        resources.conduit(await udp.connect(request(endpoint({ address: '127.0.0.1' })))),
      ),
    );
    const ports = conduits.map((c) => (c as ConnectedDatagramConduit).localAddress()?.port);
    expect(new Set(ports).size).toBe(conduits.length);
    const received = conduits.map((c) => collect(c));
    // One at a time: a burst of 400 could overflow the echo's receive buffer.
    for (const [i, conduit] of conduits.entries()) {
      conduit.write(Buffer.from(`session ${i}`));
      expect((await received[i]!.waitFor(1)).map(String)).toEqual([`session ${i}`]);
    }
  });
});
