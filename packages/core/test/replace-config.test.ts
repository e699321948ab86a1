import { afterEach, describe, expect, it } from '@jest/globals';
import { ValidationError } from '../src/errors';
import { harness, testCluster, type Harness } from './support/engine';

/** A config with one Test listener routing to cluster `a` (endpoints a1, a2) and cluster `b`. */
function config(
  overrides: {
    aEndpoints?: string[];
    bEndpoints?: string[];
    lb?: unknown;
    extraListener?: boolean;
    failStart?: boolean;
    bSpec?: Record<string, unknown>;
  } = {},
) {
  const listeners: unknown[] = [
    {
      name: 'in',
      spec: { protocol: 'Test', kind: 'datagram' },
      rules: 'rl',
    },
  ];
  if (overrides.extraListener === true) {
    listeners.push({
      name: 'extra',
      spec: {
        protocol: 'Test',
        kind: 'datagram',
        ...(overrides.failStart === true ? { fail_start: true } : {}),
      },
      rules: 'rl',
    });
  }
  return {
    listeners,
    clusters: [
      {
        ...(testCluster('a', overrides.aEndpoints ?? ['a1', 'a2'], { kind: 'datagram' }) as object),
        ...(overrides.lb !== undefined ? { loadbalancer: overrides.lb } : {}),
      },
      testCluster('b', overrides.bEndpoints ?? ['b1'], { kind: 'datagram', ...(overrides.bSpec ?? {}) }),
    ],
    rulelists: [{ name: 'rl', rules: ['to-a'] }],
    rules: [{ name: 'to-a', action: { route: 'r' } }],
    routes: [{ name: 'r', destination: 'a' }],
  };
}

describe('replaceConfig (PUT /api/v1/config)', () => {
  let h: Harness;
  afterEach(async () => {
    await h.proxy.close();
  });

  it('applies a whole config, and the same document a second time changes nothing', async () => {
    h = harness();
    const first = await h.proxy.replaceConfig(config());
    expect(first.changed).toBe(true);
    expect(first.added.listeners).toEqual(['in']);
    expect(first.added.clusters).toEqual(['a', 'b']);
    const second = await h.proxy.replaceConfig(config());
    expect(second.changed).toBe(false);
    expect(second.added).toEqual({});
    expect(second.updated).toEqual({});
    expect(second.removed).toEqual({});
  });

  it('round-trips: the dumped config put back changes nothing', async () => {
    h = harness();
    await h.proxy.replaceConfig(config());
    const result = await h.proxy.replaceConfig(h.proxy.dumpConfig());
    expect(result.changed).toBe(false);
  });

  it('a session through cluster a survives a replace that changes only cluster b', async () => {
    h = harness();
    await h.proxy.replaceConfig(config());
    h.net.endpoint('a1').transform = (chunk) => Buffer.concat([chunk, Buffer.from('@a1')]);
    const listenerBefore = h.net.listener('in');
    const conn = listenerBefore.open();
    expect((await conn.result).ok).toBe(true);
    conn.client.write(Buffer.from('x'));
    await conn.recorder.until((r) => r.chunks.length === 1, 'first reply');

    const result = await h.proxy.replaceConfig(config({ bEndpoints: ['b1', 'b2'] }));
    expect(result.updated).toEqual({ clusters: ['b'] });
    expect(h.proxy.listEndpoints('b').map((e) => e.name)).toEqual(['b-b1', 'b-b2']);

    // Same listener transport, same session, still carrying traffic.
    expect(h.net.listener('in')).toBe(listenerBefore);
    conn.client.write(Buffer.from('y'));
    await conn.recorder.until((r) => r.chunks.length === 2, 'second reply');
    expect(conn.recorder.chunks.map(String)).toEqual(['x@a1', 'y@a1']);
    expect(h.proxy.sessions()).toHaveLength(1);
  });

  it('updates endpoints and the load balancer of a cluster in place', async () => {
    h = harness();
    await h.proxy.replaceConfig(config());
    const result = await h.proxy.replaceConfig(
      config({ aEndpoints: ['a2', 'a3'], lb: { policy: 'ConsistentHash', key: '/key' } }),
    );
    expect(result.updated).toEqual({ clusters: ['a'] });
    const cluster = h.proxy.getCluster('a', { recursive: true }) as {
      endpoints: { name: string }[];
      loadbalancer: unknown;
    };
    expect(cluster.endpoints.map((e) => e.name)).toEqual(['a-a2', 'a-a3']);
    expect(cluster.loadbalancer).toMatchObject({ policy: 'ConsistentHash', key: '/key' });
  });

  it('removes objects that are not in the document and ends the sessions of a removed listener', async () => {
    h = harness();
    await h.proxy.replaceConfig(config({ extraListener: true }));
    const conn = h.net.listener('extra').open();
    expect((await conn.result).ok).toBe(true);
    const result = await h.proxy.replaceConfig(config());
    expect(result.removed).toEqual({ listeners: ['extra'] });
    expect(() => h.proxy.getListener('extra')).toThrow(/No such listener/);
    await conn.recorder.until((r) => r.closed, 'session of the removed listener ends');
  });

  it('rejects an invalid document with every problem and changes nothing', async () => {
    h = harness();
    await h.proxy.replaceConfig(config());
    const before = JSON.stringify(h.proxy.dumpConfig());
    const bad = {
      ...config(),
      routes: [{ name: 'r', destination: 'a', retry: { retry_on: 'sometimes' } }],
      listeners: [{ name: 'in', spec: { protocol: 'Nope' }, rules: 'rl' }],
    };
    const error = await h.proxy.replaceConfig(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const paths = (error as ValidationError).issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['routes.0.retry.retry_on', 'listeners.0.spec.protocol']));
    expect(JSON.stringify(h.proxy.dumpConfig())).toBe(before);
  });

  it('rejects an unregistered protocol before changing anything', async () => {
    h = harness();
    await h.proxy.replaceConfig(config());
    const before = JSON.stringify(h.proxy.dumpConfig());
    const doc = config();
    (doc.clusters[1] as { spec: unknown }).spec = { protocol: 'UDP', port: 5 };
    await expect(h.proxy.replaceConfig(doc)).rejects.toThrow(/Unknown cluster protocol "UDP"/);
    expect(JSON.stringify(h.proxy.dumpConfig())).toBe(before);
  });

  it('undoes everything when a new listener cannot start', async () => {
    h = harness();
    await h.proxy.replaceConfig(config());
    const before = JSON.stringify(h.proxy.dumpConfig());
    await expect(
      h.proxy.replaceConfig(config({ extraListener: true, failStart: true, aEndpoints: ['a9'] })),
    ).rejects.toThrow(/nothing was changed/);
    expect(JSON.stringify(h.proxy.dumpConfig())).toBe(before);
    // The untouched listener still accepts sessions.
    const conn = h.net.listener('in').open();
    expect((await conn.result).ok).toBe(true);
  });

  it('recreates a cluster whose spec changed without ending sessions through other clusters', async () => {
    h = harness();
    await h.proxy.replaceConfig(config());
    const result = await h.proxy.replaceConfig(config({ bSpec: { retriable: false } }));
    expect(result.updated).toEqual({ clusters: ['b'] });
    expect(h.proxy.getCluster('b').spec).toMatchObject({ retriable: false });
  });
});
