import { afterEach, describe, expect, it } from '@jest/globals';
import type { ResponseHead } from '../src/transport/types';
import { harness, testCluster, testListener, type Harness } from './support/engine';
import type { PairEnd } from './support/pair-transport';

const tag = (label: string) => (chunk: Buffer) => Buffer.concat([chunk, Buffer.from(`>${label}`)]);

describe('pipeline', () => {
  let h: Harness;
  afterEach(async () => {
    await h.proxy.close();
  });

  it('data goes source → ingress… → destination → egress… → source, in that order', async () => {
    h = harness();
    for (const name of ['in1', 'in2', 'dst', 'eg1', 'eg2']) {
      await h.proxy.addCluster(testCluster(name, [name], { kind: 'datagram' }));
      h.net.endpoint(name).transform = tag(name);
    }
    await h.proxy.addListener(
      testListener('l', 'dst', { ingress: ['in1', 'in2'], egress: ['eg1', 'eg2'] }, { kind: 'datagram' }),
    );
    const conn = h.net.listener('l').open();
    expect((await conn.result).ok).toBe(true);
    conn.client.write(Buffer.from('m'));
    await conn.recorder.until((r) => r.chunks.length === 1, 'one datagram back');
    expect(conn.recorder.text()).toBe('m>in1>in2>dst>eg1>eg2');
  });

  it('a datagram stays one datagram end to end and traffic is counted per stage, cluster and endpoint', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('dst', ['a'], { kind: 'datagram' }));
    await h.proxy.addListener(
      testListener(
        'l',
        { name: 'e', spec: { protocol: 'Echo' } },
        { ingress: ['dst'] },
        { kind: 'datagram' },
      ),
    );
    const conn = h.net.listener('l').open();
    expect((await conn.result).ok).toBe(true);
    const sent = ['one', 'two', 'three'];
    for (const m of sent) conn.client.write(Buffer.from(m));
    await conn.recorder.until((r) => r.chunks.length === 3, 'three datagrams');
    expect(conn.recorder.chunks.map(String)).toEqual(sent);
    const session = h.proxy.findSession('Test:l-0');
    expect(session?.source.stats).toMatchObject({
      datagramsIn: 3,
      bytesIn: 11,
      datagramsOut: 3,
      bytesOut: 11,
    });
    // The ingress stage got the three datagrams and passed three back on to Echo.
    expect(session?.ingress[0]?.stats).toMatchObject({ datagramsOut: 3, datagramsIn: 3, bytesIn: 11 });
    expect(session?.ingress[0]?.endpointStats).toMatchObject({ datagramsOut: 3 });
    expect(session?.ingress[0]?.ownerStats).toMatchObject({ datagramsIn: 3 });
  });

  it('warns once per route when datagrams feed an unframed byte stream', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('bytes', ['a'], { kind: 'byte-stream' }));
    await h.proxy.addCluster(
      testCluster('framed', ['b'], { kind: 'byte-stream', framing: 'length-prefixed' }),
    );
    await h.proxy.addListener({
      name: 'l',
      spec: { protocol: 'Test', kind: 'datagram' },
      rules: [
        {
          match: { op: 'defined', path: '/framed' },
          action: { route: { name: 'ok-route', destination: 'framed' } },
        },
        { action: { route: { name: 'lossy', destination: 'bytes' } } },
      ],
    });
    const listener = h.net.listener('l');
    for (let i = 0; i < 3; i++) expect((await listener.open().result).ok).toBe(true);
    expect((await listener.open({ framed: true }).result).ok).toBe(true);
    const framing = h.warnings.filter((w) => w.includes('without framing'));
    expect(framing).toEqual([
      'Route "lossy": datagrams from "l" go into the byte stream "bytes" without framing, so message boundaries are lost; set spec.framing',
    ]);
  });

  it('pauses the upstream conduit when a write returns false and resumes it on drain', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('dst', ['a']));
    h.net.endpoint('a').echo = false;
    await h.proxy.addListener(testListener('l', 'dst'));
    const serverSide = h.net.endpoint('a').nextConnection();
    const conn = h.net.listener('l').open();
    expect((await conn.result).ok).toBe(true);
    const server = await serverSide;
    const session = h.proxy.findSession('Test:l-0');
    const proxyToServer = server.peer as PairEnd;
    const source = session?.source.conduit as PairEnd;
    proxyToServer.full = true;
    conn.client.write(Buffer.from('x'));
    expect(source.paused).toBe(true);
    proxyToServer.signalDrain();
    expect(source.paused).toBe(false);
  });

  it('a response head from the destination reaches the source through writeHead', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('dst', ['a']));
    h.net.endpoint('a').head = { status: 201, headers: { 'x-test': '1' } };
    await h.proxy.addListener(testListener('l', 'dst'));
    const conn = h.net.listener('l').open();
    expect((await conn.result).ok).toBe(true);
    const heads: ResponseHead[] = [];
    const source = h.proxy.findSession('Test:l-0')?.source.conduit;
    if (source === undefined) throw new Error('no source');
    source.writeHead = (head) => heads.push(head);
    conn.client.write(Buffer.from('req'));
    await conn.recorder.until((r) => r.text() === 'req', 'reply');
    expect(heads).toEqual([{ status: 201, headers: { 'x-test': '1' } }]);
  });

  it('data the client sends before routing completes is delivered once connected', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('dst', ['a']));
    h.net.endpoint('a').modes.push('fail', 'ok');
    await h.proxy.addListener(
      testListener('l', 'dst', { retry: { retry_on: 'connect-failure', num_retries: 1, timeout: 20 } }),
    );
    const conn = h.net.listener('l').open();
    conn.client.write(Buffer.from('early'));
    expect((await conn.result).ok).toBe(true);
    await conn.recorder.until((r) => r.text() === 'early', 'early data echoed');
  });
});
