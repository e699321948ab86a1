import { afterEach, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../src/logger';
import { createProxy, type Proxy } from '../src/proxy';
import { TransportRegistry } from '../src/registry';
import { createClusterEntry, endpointProblem } from '../src/store/build';
import { NotFoundError } from '../src/errors';
import { Registry } from 'prom-client';
import { harness, nextEvent, testCluster, testListener, type Harness } from './support/engine';
import { pair, TestNetwork } from './support/pair-transport';

describe('proxy error paths', () => {
  let h: Harness | undefined;
  let other: Proxy | undefined;
  afterEach(async () => {
    await h?.proxy.close();
    await other?.close();
    h = undefined;
    other = undefined;
  });

  it('reading unknown things names them', async () => {
    h = harness();
    await h.proxy.addRuleList({ name: 'rl', rules: ['ghost'] });
    expect(() => h?.proxy.getRuleFromRuleList('none', 0)).toThrow('No such rule list: none');
    expect(() => h?.proxy.getRuleFromRuleList('rl', 1)).toThrow('No rule at position 1 in RuleList "rl"');
    expect(() => h?.proxy.getRuleFromRuleList('rl', 0)).toThrow(
      'Cannot find named rule "ghost" in RuleList "rl"',
    );
    expect(() => h?.proxy.listEndpoints('none')).toThrow('No such cluster: none');
    expect(() => h?.proxy.getEndpoint('none')).toThrow(NotFoundError);
    expect(() => h?.proxy.listenerAddress('none')).toThrow('No such listener: none');
    await h.proxy.addListener({ name: 'l', spec: { protocol: 'Test' }, rules: [] });
    expect(h.proxy.listenerAddress('l')).toBeUndefined();
  });

  it('listener callbacks that throw are logged and do not break the session', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('c', ['a']));
    await h.proxy.addListener(testListener('l', 'c'));
    const [, server] = pair('byte-stream');
    const ok = await h.net.listener('l').accept({
      conduit: server,
      metadata: {},
      name: 'n',
      established: () => {
        throw new Error('boom');
      },
    });
    expect(ok.ok).toBe(true);
    const [, server2] = pair('byte-stream');
    const failed = await h.net.listener('l').accept({
      conduit: server2,
      metadata: {},
      name: 'n2',
      reject: () => {
        throw new Error('boom');
      },
    });
    expect(failed.ok).toBe(true);
    expect(h.warnings).toContain('listener established() callback failed');
    await h.proxy.deleteCluster('c');
    const [, server3] = pair('byte-stream');
    const refused = await h.net.listener('l').accept({
      conduit: server3,
      metadata: {},
      name: 'n3',
      reject: () => {
        throw new Error('boom');
      },
    });
    expect(refused.ok).toBe(false);
    expect(h.warnings).toContain('listener reject() callback failed');
  });

  it('odd metadata from a listener cannot crash the proxy', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('c', ['a']));
    await h.proxy.addListener(testListener('l', 'c'));
    const [, a] = pair('byte-stream');
    const nullMetadata = await h.net.listener('l').accept({ conduit: a, metadata: null as never, name: '' });
    expect(nullMetadata.ok).toBe(true);
    expect(h.proxy.sessions().map((s) => s.name)).toEqual(['l-session']);
    const [, b] = pair('byte-stream');
    const hostile = {};
    Object.defineProperty(hostile, 'x', {
      enumerable: true,
      get() {
        throw new Error('hostile getter');
      },
    });
    const crashed = await h.net.listener('l').accept({ conduit: b, metadata: hostile, name: 'h' });
    expect(crashed).toMatchObject({ ok: false, status: 500, message: 'hostile getter' });
    expect(b.closed).toBe(true);
  });

  it('a source whose reconnect() fails ends the session with an error', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('c', ['a']));
    await h.proxy.addListener(
      testListener('l', 'c', { retry: { retry_on: 'disconnect', num_retries: 1, timeout: 10 } }),
    );
    const [client, server] = pair('datagram');
    let calls = 0;
    const result = await h.net.listener('l').accept({
      conduit: server,
      metadata: {},
      name: 's',
      reconnect: () => {
        calls++;
        return Promise.reject(new Error('port gone'));
      },
    });
    expect(result.ok).toBe(true);
    const ended = nextEvent(h.proxy, 'session-end');
    client.destroy();
    const [, error] = await ended;
    expect(error?.message).toBe(
      'Reconnect failed for session "s": Cannot reopen the source of session "s": port gone',
    );
    expect(calls).toBe(2);
    expect(h.net.openConduits()).toBe(0);
  });

  it('a transport factory that throws fails the add and builds nothing', async () => {
    const net = new TestNetwork();
    other = createProxy({
      logger: silentLogger(),
      transports: [
        net.plugin,
        {
          name: 'broken',
          clusters: [
            {
              protocol: 'Test',
              create: () => {
                throw new Error('bad spec');
              },
            },
          ],
        },
      ],
    });
    await expect(other.addCluster(testCluster('c', ['a']))).rejects.toThrow('Cannot add cluster: bad spec');
    expect(other.listClusters()).toEqual([]);
  });

  it('a virtual transport refuses endpoints; endpoint checks name the protocol', () => {
    const registry = new TransportRegistry([
      {
        name: 'v',
        clusters: [
          {
            protocol: 'Test',
            create: () => ({
              kind: 'datagram',
              virtual: true,
              retriable: true,
              connect: () => Promise.reject(new Error('x')),
            }),
          },
        ],
      },
    ]);
    expect(() =>
      createClusterEntry(
        {
          name: 'c',
          spec: { protocol: 'Test' },
          endpoints: [{ name: 'e', spec: {}, weight: 1, generated: false }],
          generated: false,
        },
        registry,
        silentLogger(),
        new Registry(),
      ),
    ).toThrow('Adding an endpoint to a cluster of type "Test" is not supported');
    expect(endpointProblem({ name: 'c', spec: { protocol: 'TCP', port: 1 } }, { spec: {} })).toBe(
      'an endpoint of a TCP cluster needs an address',
    );
    expect(endpointProblem({ name: 'c', spec: { protocol: 'UnixDomainSocket' } }, { spec: {} })).toContain(
      'socket path',
    );
    expect(
      endpointProblem({ name: 'c', spec: { protocol: 'UnixDomainSocket', filename: '/s' } }, { spec: {} }),
    ).toBeUndefined();
  });
});
