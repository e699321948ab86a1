import { afterEach, describe, expect, it } from '@jest/globals';
import { harness, nextEvent, testCluster, testListener, type Harness } from './support/engine';

describe('sessions', () => {
  let h: Harness;
  afterEach(async () => {
    await h.proxy.close();
  });

  async function routed(route: Record<string, unknown> = {}, listenerSpec: Record<string, unknown> = {}) {
    h = harness();
    await h.proxy.addCluster(testCluster('c', ['a']));
    await h.proxy.addCluster({ name: 'echo', spec: { protocol: 'Echo' } });
    await h.proxy.addListener(testListener('l', 'c', route, listenerSpec));
  }

  it('a session dump shows source, every stage, status and the event log', async () => {
    await routed({ ingress: ['echo'], egress: ['echo'] });
    const conn = h.net.listener('l').open({ IP: { src_addr: '127.0.0.1' } });
    expect((await conn.result).ok).toBe(true);
    const dump = h.proxy.getSession('Test:l-0');
    const stage = (origin: string, endpoint: unknown) => ({ origin, endpoint, status: 'READY' });
    const echo = { name: 'echo', spec: { address: '<VIRTUAL>' } };
    expect(dump).toMatchObject({
      name: 'Test:l-0',
      metadata: { IP: { src_addr: '127.0.0.1' } },
      source: { origin: 'l', listener: { protocol: 'Test' }, status: 'READY' },
      destination: stage('c', { name: 'c-a', spec: { address: 'a' } }),
      ingress: [stage('echo', echo)],
      egress: [stage('echo', echo)],
      status: 'CONNECTED',
    });
    const events = dump.events as { event: string; message: string; timestamp: string }[];
    expect(events.map((e) => [e.event, e.message])).toEqual([
      ['INIT', 'Session Test:l-0 initialized'],
      ['LOOKUP SUCCESS', 'Successfull lookup on rulelist:l-RuleList-0/rule:l-RuleList-0-Rule-0'],
      ['CONNECT', 'Session successfully connected'],
    ]);
    expect(Number.isNaN(Date.parse(events[0]?.timestamp ?? ''))).toBe(false);
    expect(dump).not.toHaveProperty('metadata.name');
  });

  it('session names are de-duplicated with _N', async () => {
    await routed();
    const listener = h.net.listener('l');
    const results = await Promise.all([
      listener.open({}, 'TCP:x').result,
      listener.open({}, 'TCP:x').result,
      listener.open({}, 'TCP:x').result,
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(h.proxy.sessions().map((s) => s.name)).toEqual(['TCP:x', 'TCP:x_1', 'TCP:x_2']);
    expect(h.proxy.findSession('TCP:x_1')?.metadata.name).toBe('TCP:x_1');
  });

  it('a session keeps the route copy it was routed with', async () => {
    await routed({ name: 'r', retry: { retry_on: 'disconnect', num_retries: 1, timeout: 50 } });
    expect((await h.net.listener('l').open().result).ok).toBe(true);
    await h.proxy.deleteRoute('r');
    await h.proxy.addRoute({ name: 'r', destination: 'elsewhere' });
    const session = h.proxy.findSession('Test:l-0');
    expect(session?.route).toMatchObject({ name: 'r', destination: 'c', retry: { retry_on: 'disconnect' } });
    // Its retry policy still applies: killing the endpoint reconnects to c.
    const reconnected = nextEvent(h.proxy, 'session-connect');
    h.net.endpoint('a').kill();
    await reconnected;
    expect(session?.destination?.origin).toBe('c');
  });

  it('deleteSession ends it with the API message and frees it', async () => {
    await routed();
    const conn = h.net.listener('l').open();
    expect((await conn.result).ok).toBe(true);
    const destroyed = nextEvent(h.proxy, 'session-destroy');
    h.proxy.deleteSession('Test:l-0');
    const [session] = await destroyed;
    expect(session.status).toBe('DESTROYED');
    expect(session.events.map((e) => e.event)).toEqual([
      'INIT',
      'LOOKUP SUCCESS',
      'CONNECT',
      'END',
      'DESTROY',
    ]);
    expect(session.events[3]?.message).toBe('Session removed from the API');
    await conn.recorder.until((r) => r.closed, 'client closed');
    expect(h.net.openConduits()).toBe(0);
    expect(h.proxy.sessions()).toEqual([]);
  });

  it('a listener with track keeps a destroyed session listed', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('c', ['a']));
    await h.proxy.addListener({ ...(testListener('l', 'c') as object), options: { track: 60 } });
    expect((await h.net.listener('l').open().result).ok).toBe(true);
    h.proxy.deleteSession('Test:l-0');
    expect(h.proxy.getSession('Test:l-0')).toMatchObject({ status: 'DESTROYED' });
  });

  it('a client half-close travels to the endpoint and the echoed end closes the session', async () => {
    await routed();
    const conn = h.net.listener('l').open();
    expect((await conn.result).ok).toBe(true);
    const ended = nextEvent(h.proxy, 'session-end');
    conn.client.write(Buffer.from('bye'));
    conn.client.end();
    const [session, error] = await ended;
    expect(error).toBeUndefined();
    expect(conn.recorder.text()).toBe('bye');
    expect(session.events.at(-2)).toMatchObject({ event: 'END', message: 'Normal end' });
    expect(h.net.openConduits()).toBe(0);
  });

  it('a recursive listener delete ends its sessions; a recursive cluster delete ends the sessions through it', async () => {
    await routed();
    const listener = h.net.listener('l');
    expect((await listener.open().result).ok).toBe(true);
    expect((await listener.open().result).ok).toBe(true);
    await h.proxy.deleteCluster('c', { recursive: true });
    expect(h.proxy.sessions()).toEqual([]);
    await h.proxy.addCluster(testCluster('c', ['a']));
    expect((await listener.open().result).ok).toBe(true);
    await h.proxy.deleteListener('l', { recursive: true });
    expect(h.proxy.sessions()).toEqual([]);
    expect(listener.closed).toBe(true);
    expect(h.net.openConduits()).toBe(0);
  });

  it('a non-recursive cluster delete leaves live sessions running', async () => {
    await routed();
    const conn = h.net.listener('l').open();
    expect((await conn.result).ok).toBe(true);
    await h.proxy.deleteCluster('c');
    expect(h.proxy.findSession('Test:l-0')?.status).toBe('CONNECTED');
    conn.client.write(Buffer.from('still'));
    await conn.recorder.until((r) => r.text() === 'still', 'echo');
  });

  it('a routing failure reports the listener error and emits session-end with it', async () => {
    h = harness();
    await h.proxy.addListener({
      name: 'l',
      spec: { protocol: 'Test' },
      rules: [{ action: { route: 'missing' } }],
    });
    const ended = nextEvent(h.proxy, 'session-end');
    const conn = h.net.listener('l').open();
    const [session, error] = await ended;
    expect(error?.message).toBe('Cannot find Route "missing" for session "Test:l-0"');
    expect(session.toJSON()).toMatchObject({ destination: { status: 'PENDING' }, status: 'DESTROYED' });
    expect(conn.rejected).toMatchObject({ ok: false, status: 404 });
  });
});
