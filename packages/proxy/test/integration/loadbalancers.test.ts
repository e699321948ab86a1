import { afterEach, describe, expect, it } from '@jest/globals';
import type { Proxy } from '@l7mp/core';
import {
  listenerPort,
  liveSessionNames,
  LOOPBACK,
  Resources,
  tcpClient,
  tcpEchoServer,
  udpClient,
  udpEchoServer,
  waitFor,
  wsClient,
  type TcpClient,
} from './helpers';

/**
 * Every load balancer over real echo servers that tag their replies with their name, so the
 * client can tell which endpoint served its session.
 */

const resources = new Resources();
afterEach(() => resources.closeAll());

/** A proxy with a TCP listener in front of a TCP cluster of tagged echo servers A and B. */
async function tcpPair(loadbalancer: Record<string, unknown>): Promise<{ proxy: Proxy; port: number }> {
  const a = await tcpEchoServer(resources, { tag: 'A:' });
  const b = await tcpEchoServer(resources, { tag: 'B:' });
  const proxy = await resources.proxy({
    clusters: [
      {
        name: 'backend',
        spec: { protocol: 'TCP', port: 1 },
        loadbalancer,
        endpoints: [
          { name: 'A', spec: { address: LOOPBACK, port: a.port } },
          { name: 'B', spec: { address: LOOPBACK, port: b.port } },
        ],
      },
    ],
    listeners: [
      {
        name: 'in',
        spec: { protocol: 'TCP', port: 0, address: LOOPBACK },
        rules: [{ action: { route: { destination: 'backend' } } }],
      },
    ],
  });
  return { proxy, port: listenerPort(proxy, 'in') };
}

/** Opens a session, asks which endpoint answers and leaves the connection open. */
async function openTagged(port: number): Promise<{ client: TcpClient; tag: string }> {
  const client = await tcpClient(resources, { port });
  client.socket.write('?');
  const reply = (await client.data.waitBytes(3)).toString();
  client.data.clear();
  return { client, tag: reply.slice(0, 1) };
}

/** The endpoint that serves one short session (opened, asked, closed). */
async function oneSession(port: number): Promise<string> {
  const { client, tag } = await openTagged(port);
  client.socket.end();
  await client.closed;
  return tag;
}

describe('load balancers over real TCP and UDP echo servers', () => {
  it('Trivial: every session goes to the first endpoint', async () => {
    const { port } = await tcpPair({ policy: 'Trivial' });
    const tags: string[] = [];
    for (let i = 0; i < 4; i++) tags.push(await oneSession(port));
    expect(tags).toEqual(['A', 'A', 'A', 'A']);
  });

  it('RoundRobin: sessions alternate between the endpoints', async () => {
    const { port } = await tcpPair({ policy: 'RoundRobin' });
    const tags: string[] = [];
    for (let i = 0; i < 5; i++) tags.push(await oneSession(port));
    expect(tags).toEqual(['A', 'B', 'A', 'B', 'A']);
  });

  it('LeastConnections: a new session goes to the endpoint with fewer live sessions', async () => {
    const { proxy, port } = await tcpPair({ policy: 'LeastConnections' });
    const first = await openTagged(port); // A 1, B 0
    const second = await openTagged(port); // A 1, B 1
    const third = await openTagged(port); // tie: the earlier endpoint
    const fourth = await openTagged(port); // A 2, B 1
    expect([first.tag, second.tag, third.tag, fourth.tag]).toEqual(['A', 'B', 'A', 'B']);
    // Both of B's sessions end: B has none, A still has two.
    second.client.socket.end();
    fourth.client.socket.end();
    await Promise.all([second.client.closed, fourth.client.closed]);
    await waitFor(() => liveSessionNames(proxy).length === 2, 'two live sessions');
    // Round robin would now answer A; least connections fills B up to A's count first.
    const fifth = await openTagged(port);
    const sixth = await openTagged(port);
    const seventh = await openTagged(port);
    expect([fifth.tag, sixth.tag, seventh.tag]).toEqual(['B', 'B', 'A']);
  });

  /** A UDP listener in front of a UDP cluster of tagged echo servers. */
  async function udpCluster(
    loadbalancer: Record<string, unknown>,
    weights: { A: number; B: number } = { A: 1, B: 1 },
  ): Promise<number> {
    const a = await udpEchoServer(resources, 'A:');
    const b = await udpEchoServer(resources, 'B:');
    const proxy = await resources.proxy({
      clusters: [
        {
          name: 'backend',
          spec: { protocol: 'UDP', port: 1 },
          loadbalancer,
          endpoints: [
            { name: 'A', spec: { address: LOOPBACK, port: a.port }, weight: weights.A },
            { name: 'B', spec: { address: LOOPBACK, port: b.port }, weight: weights.B },
          ],
        },
      ],
      listeners: [
        {
          name: 'in',
          spec: { protocol: 'UDP', port: 0, address: LOOPBACK },
          rules: [{ action: { route: { destination: 'backend' } } }],
        },
      ],
    });
    return listenerPort(proxy, 'in');
  }

  /** The endpoint that answers a UDP client bound to `address` (a new session per client). */
  async function udpTag(port: number, address: string): Promise<string> {
    const client = await udpClient(resources, port, address);
    client.send('?');
    return (await client.inbox.next(`the reply to ${address}`)).toString().slice(0, 1);
  }

  it('ConsistentHash on /IP/src_addr: the same address always reaches the same endpoint', async () => {
    const port = await udpCluster({ policy: 'ConsistentHash', key: '/IP/src_addr' });
    const byAddress = new Map<string, string[]>();
    for (let i = 2; i < 22; i++) {
      const address = `127.0.0.${i}`;
      // Two sessions (two client ports) per address.
      byAddress.set(address, [await udpTag(port, address), await udpTag(port, address)]);
    }
    for (const [address, tags] of byAddress)
      expect({ address, same: tags[0] === tags[1] }).toEqual({ address, same: true });
    const used = new Set([...byAddress.values()].map((tags) => tags[0]));
    expect([...used].sort()).toEqual(['A', 'B']);
  });

  it('ConsistentHash: weights skew the share of keys', async () => {
    const port = await udpCluster({ policy: 'ConsistentHash', key: '/IP/src_addr' }, { A: 9, B: 1 });
    let a = 0;
    for (let i = 2; i < 42; i++) if ((await udpTag(port, `127.0.0.${i}`)) === 'A') a++;
    // 90 % expected; equal weights would give about half.
    expect(a).toBeGreaterThanOrEqual(30);
    expect(a).toBeLessThan(40);
  });

  it('ConsistentHash without a key: sessions are spread at random', async () => {
    const port = await udpCluster({ policy: 'ConsistentHash' });
    const tags = new Set<string>();
    // All from one address: only the random draw can spread them.
    for (let i = 0; i < 30; i++) tags.add(await udpTag(port, LOOPBACK));
    expect([...tags].sort()).toEqual(['A', 'B']);
  });

  it('ConsistentHash on a label set by a rule rewrite: same label, same endpoint; labels spread', async () => {
    const a = await udpEchoServer(resources, 'A:');
    const b = await udpEchoServer(resources, 'B:');
    const tenants = Array.from({ length: 16 }, (_, i) => `tenant-${i}`);
    const proxy = await resources.proxy({
      clusters: [
        {
          name: 'backend',
          spec: { protocol: 'UDP', port: 1 },
          loadbalancer: { policy: 'ConsistentHash', key: '/labels/tenant' },
          endpoints: [
            { name: 'A', spec: { address: LOOPBACK, port: a.port } },
            { name: 'B', spec: { address: LOOPBACK, port: b.port } },
          ],
        },
      ],
      routes: [{ name: 'to-backend', destination: 'backend' }],
      listeners: [
        {
          name: 'in',
          spec: { protocol: 'WebSocket', port: 0, address: LOOPBACK },
          rules: tenants.map((tenant) => ({
            match: { op: 'starts', path: '/HTTP/url/path', value: `/${tenant}/` },
            action: { rewrite: [{ path: '/labels/tenant', value: tenant }], route: 'to-backend' },
          })),
        },
      ],
    });
    const port = listenerPort(proxy, 'in');
    const endpointOf = new Map<string, Set<string>>();
    for (const tenant of tenants) {
      for (const session of ['x', 'y']) {
        const client = await wsClient(resources, port, `/${tenant}/${session}`);
        client.ws.send('?');
        const tag = (await client.inbox.next(`the reply for ${tenant}`)).toString().slice(0, 1);
        const seen = endpointOf.get(tenant) ?? new Set<string>();
        seen.add(tag);
        endpointOf.set(tenant, seen);
        client.ws.close();
      }
    }
    for (const [tenant, seen] of endpointOf)
      expect({ tenant, endpoints: seen.size }).toEqual({ tenant, endpoints: 1 });
    const used = new Set([...endpointOf.values()].flatMap((seen) => [...seen]));
    expect([...used].sort()).toEqual(['A', 'B']);
  });
});
