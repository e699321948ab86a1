import { afterEach, describe, expect, it } from '@jest/globals';
import { BadRequestError, L7mpError } from '../src/errors';
import { TransportRegistry } from '../src/registry';
import { harness, nextEvent, testCluster, testListener, type Harness } from './support/engine';

describe('proxy', () => {
  let h: Harness;
  afterEach(async () => {
    await h.proxy.close();
  });

  it('routes a connection through a Test cluster and echoes data back', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('backend', ['a']));
    await h.proxy.addListener(testListener('in', 'backend'));
    const conn = h.net.listener('in').open({ x: 1 });
    await expect(conn.result).resolves.toEqual({ ok: true, status: 200, message: 'OK' });
    expect(conn.established).toBe(true);
    conn.client.write(Buffer.from('hello'));
    await conn.recorder.until((r) => r.text() === 'hello', 'echo');
  });

  it('routes through the built-in Echo transform', async () => {
    h = harness();
    await h.proxy.addListener(testListener('in', { name: 'echo', spec: { protocol: 'Echo' } }));
    const conn = h.net.listener('in').open();
    expect((await conn.result).ok).toBe(true);
    conn.client.write(Buffer.from('ping'));
    await conn.recorder.until((r) => r.text() === 'ping', 'echo');
    const dump = h.proxy.sessions()[0] as { destination: unknown };
    expect(dump.destination).toEqual({
      origin: 'echo',
      endpoint: { name: 'echo', spec: { address: '<VIRTUAL>' } },
      status: 'READY',
    });
  });

  it('close() ends every session, closes listeners and clusters and releases every conduit', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('backend', ['a']));
    await h.proxy.addListener(testListener('in', 'backend', {}, {}));
    await h.proxy.addListener({ ...(testListener('in2', 'backend') as object), name: 'in2' });
    const listener = h.net.listener('in');
    const conns = [listener.open(), listener.open(), h.net.listener('in2').open()];
    for (const c of conns) expect((await c.result).ok).toBe(true);
    expect(h.net.openConduits()).toBeGreaterThan(0);
    const ended = nextEvent(h.proxy, 'session-end');
    await h.proxy.close();
    await ended;
    expect(h.net.openConduits()).toBe(0);
    expect(listener.closed).toBe(true);
    expect(h.net.listeners.size).toBe(0);
    expect(h.proxy.sessions()).toEqual([]);
    expect(h.proxy.listListeners()).toEqual([]);
    expect(h.proxy.listClusters()).toEqual([]);
    await expect(h.proxy.addCluster(testCluster('x', []))).rejects.toThrow('The proxy is closed');
    // A second close is harmless.
    await h.proxy.close();
  });

  it('a connection arriving while closing is refused and its conduit destroyed', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('backend', ['a']));
    await h.proxy.addListener(testListener('in', 'backend'));
    const listener = h.net.listener('in');
    const closing = h.proxy.close();
    const conn = listener.open();
    const result = await conn.result;
    await closing;
    expect(result).toMatchObject({ ok: false, status: 503 });
    expect(conn.rejected).toMatchObject({ status: 503 });
    expect(conn.client.closed).toBe(true);
  });

  it('reports object additions and removals as events', async () => {
    h = harness();
    const seen: string[] = [];
    h.proxy.on('cluster-added', (name) => seen.push(`+cluster ${name}`));
    h.proxy.on('endpoint-added', (name, cluster) => seen.push(`+endpoint ${name}@${cluster}`));
    h.proxy.on('cluster-removed', (name) => seen.push(`-cluster ${name}`));
    h.proxy.on('endpoint-removed', (name) => seen.push(`-endpoint ${name}`));
    await h.proxy.addCluster(testCluster('c', ['a']));
    await h.proxy.deleteCluster('c');
    expect(seen).toEqual(['+cluster c', '+endpoint c-a@c', '-endpoint c-a', '-cluster c']);
  });

  it('a throwing event callback does not disturb the proxy', async () => {
    h = harness();
    h.proxy.on('session-start', () => {
      throw new Error('callback bug');
    });
    await h.proxy.addCluster(testCluster('backend', ['a']));
    await h.proxy.addListener(testListener('in', 'backend'));
    const conn = h.net.listener('in').open();
    expect((await conn.result).ok).toBe(true);
    expect(h.warnings).toContain('proxy event callback threw');
  });

  it('admin settings are validated, stored and reported', () => {
    h = harness();
    expect(h.proxy.getAdmin()).toMatchObject({ strict: false, offload: false, version: '0.1.0' });
    expect(h.proxy.applyAdmin({ log_level: 'error', strict: true, access_log_path: '/tmp/x' })).toMatchObject(
      {
        log_level: 'error',
        strict: true,
        access_log_path: '/tmp/x',
      },
    );
    expect(h.proxy.logger.level).toBe('error');
    expect(() => h.proxy.applyAdmin({ log_level: 'loud' })).toThrow(/log_level/);
  });

  it('getConfig lists every kind plus endpoints and sessions', async () => {
    h = harness();
    await h.proxy.applyConfig({
      clusters: [testCluster('backend', ['a'])],
      listeners: [testListener('in', 'backend')],
    });
    const config = h.proxy.getConfig();
    expect(Object.keys(config).sort()).toEqual(
      ['admin', 'clusters', 'endpoints', 'listeners', 'routes', 'rulelists', 'rules', 'sessions'].sort(),
    );
    expect(config.endpoints).toEqual([{ name: 'backend-a', spec: { address: 'a' }, weight: 1 }]);
    const dumped = h.proxy.dumpConfig({ embed: true });
    expect(dumped.listeners[0]?.name).toBe('in');
  });
});

describe('TransportRegistry', () => {
  it('names the unknown protocol and lists the registered ones', () => {
    const registry = new TransportRegistry([
      { name: 'p', clusters: [{ protocol: 'Foo', create: () => ({}) as never }] },
    ]);
    expect(registry.clusterProtocols()).toEqual(['Foo']);
    expect(() =>
      registry.createCluster({
        name: 'c',
        spec: { protocol: 'UDP', port: 1 },
        logger: undefined as never,
        transports: registry,
        metrics: undefined as never,
      }),
    ).toThrow(BadRequestError);
    expect(registry.clusterProblem('UDP')).toBe(
      'Unknown cluster protocol "UDP" (registered cluster protocols: Foo)',
    );
    expect(registry.listenerProblem('UDP')).toBe(
      'Unknown listener protocol "UDP" (no listener protocols are registered)',
    );
  });

  it('a proxy refuses an object whose protocol has no transport, naming it', async () => {
    const h = harness();
    try {
      const error = await h.proxy
        .addListener({ name: 'u', spec: { protocol: 'UDP', port: 5 }, rules: [] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(L7mpError);
      expect((error as Error).message).toContain('Unknown listener protocol "UDP"');
      expect((error as Error).message).toContain('Test');
      expect(h.proxy.listListeners()).toEqual([]);
      expect(h.proxy.listRuleLists()).toEqual([]);
    } finally {
      await h.proxy.close();
    }
  });
});
