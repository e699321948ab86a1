import { afterEach, describe, expect, it } from '@jest/globals';
import type { Session } from '../src/session/session';
import { pair, Recorder } from './support/pair-transport';
import { harness, nextEvent, testCluster, testListener, type Harness } from './support/engine';

const retry = (retry_on: string, num_retries: number, timeout = 50) => ({
  retry: { retry_on, num_retries, timeout },
});

function eventNames(session: Session): string[] {
  return session.events.map((e) => e.event);
}

describe('retries at setup', () => {
  let h: Harness;
  afterEach(async () => {
    await h.proxy.close();
  });

  async function setup(route: Record<string, unknown>, addresses = ['a']): Promise<void> {
    h = harness();
    await h.proxy.addCluster(testCluster('backend', addresses));
    await h.proxy.addListener(testListener('in', 'backend', route));
  }

  it('never: one failed connect fails the session with a descriptive 503', async () => {
    await setup(retry('never', 3));
    h.net.endpoint('a').modes.push('fail', 'ok');
    const conn = h.net.listener('in').open();
    const result = await conn.result;
    expect(result.ok).toBe(false);
    expect(result.status).toBe(503);
    expect(result.message).toBe(
      'Pipeline setup failed for session "Test:in-0": Cannot connect to cluster "backend" after 1 attempt: Test endpoint "a" refused',
    );
    expect(conn.rejected).toEqual(result);
    expect(h.net.endpoint('a').attempts).toBe(1);
  });

  it('connect-failure with num_retries 1: fail then ok connects (two attempts)', async () => {
    await setup(retry('connect-failure', 1));
    h.net.endpoint('a').modes.push('fail', 'ok');
    const conn = h.net.listener('in').open();
    expect((await conn.result).ok).toBe(true);
    expect(h.net.endpoint('a').attempts).toBe(2);
  });

  it('always with num_retries 1: fail, fail gives up after two attempts', async () => {
    await setup(retry('always', 1));
    h.net.endpoint('a').modes.push('fail', 'fail', 'ok');
    const ended = nextEvent(h.proxy, 'session-end');
    const conn = h.net.listener('in').open();
    const result = await conn.result;
    expect(result.message).toContain('after 2 attempts');
    const [session, error] = await ended;
    expect(error?.message).toBe(result.message);
    expect(eventNames(session)).toEqual(['INIT', 'LOOKUP SUCCESS', 'ERROR', 'DESTROY']);
    expect(h.net.endpoint('a').attempts).toBe(2);
    expect(h.net.openConduits()).toBe(0);
  });

  it('num_retries 2: fail, fail, ok connects', async () => {
    await setup(retry('connect-failure', 2));
    h.net.endpoint('a').modes.push('fail', 'fail', 'ok');
    expect((await h.net.listener('in').open().result).ok).toBe(true);
  });

  it('a retry goes to another endpoint than the one that failed', async () => {
    await setup(retry('connect-failure', 1), ['a', 'b']);
    h.net.endpoint('a').defaultMode = 'fail';
    const conn = h.net.listener('in').open();
    expect((await conn.result).ok).toBe(true);
    expect(h.net.endpoint('a').attempts).toBe(1);
    expect(h.net.endpoint('b').attempts).toBe(1);
    const dump = h.proxy.sessions()[0] as { destination: { endpoint: { name: string } } };
    expect(dump.destination.endpoint.name).toBe('backend-b');
  });

  it('a hanging connect times out after retry.timeout (504)', async () => {
    await setup(retry('never', 0, 30));
    h.net.endpoint('a').defaultMode = 'hang';
    const result = await h.net.listener('in').open().result;
    expect(result.status).toBe(504);
    expect(result.message).toContain('Cluster "backend" endpoint "backend-a": connect timed out after 30 ms');
  });

  it('an unknown cluster is looked up again at each attempt, so one added later is found', async () => {
    h = harness();
    await h.proxy.addListener(testListener('in', 'later', retry('connect-failure', 5, 40)));
    const started = nextEvent(h.proxy, 'session-start');
    const conn = h.net.listener('in').open();
    const session = (await started)[0];
    expect(session.status).toBe('INIT');
    await h.proxy.addCluster(testCluster('later', ['a']));
    expect((await conn.result).ok).toBe(true);
  });

  it('an unknown cluster that never appears fails with its name', async () => {
    h = harness();
    await h.proxy.addListener(testListener('in', 'nowhere', retry('connect-failure', 2, 10)));
    const result = await h.net.listener('in').open().result;
    expect(result.status).toBe(404);
    expect(result.message).toContain('after 3 attempts: Cannot find cluster "nowhere"');
  });

  it('a cluster without endpoints fails the session', async () => {
    await setup(retry('never', 0), []);
    const result = await h.net.listener('in').open().result;
    expect(result.ok).toBe(false);
    expect(result.message).toContain('No endpoint in cluster');
  });

  it('when one stage gives up the others stop retrying and every conduit is released', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('good', ['g']));
    await h.proxy.addCluster(testCluster('bad', ['b']));
    await h.proxy.addListener(testListener('in', 'good', { ingress: ['bad'], ...retry('always', 1, 20) }));
    h.net.endpoint('b').defaultMode = 'fail';
    const result = await h.net.listener('in').open().result;
    expect(result.message).toContain('cluster "bad"');
    expect(h.net.openConduits()).toBe(0);
  });

  it('deleting a session while it retries ends it without connecting', async () => {
    await setup(retry('connect-failure', 5, 200));
    h.net.endpoint('a').modes.push('fail', 'ok');
    const started = nextEvent(h.proxy, 'session-start');
    const conn = h.net.listener('in').open();
    const [session] = await started;
    h.proxy.deleteSession(session.name);
    const result = await conn.result;
    expect(result).toMatchObject({ ok: false, status: 503 });
    expect(result.message).toBe('Session "Test:in-0" ended during setup');
    expect(h.net.endpoint('a').attempts).toBe(1);
    expect(h.net.openConduits()).toBe(0);
  });
});

describe('retries after a disconnect', () => {
  let h: Harness;
  afterEach(async () => {
    await h.proxy.close();
  });

  async function connected(route: Record<string, unknown>, addresses = ['a', 'b']) {
    h = harness();
    await h.proxy.addCluster(testCluster('backend', addresses));
    await h.proxy.addListener(testListener('in', 'backend', route));
    const conn = h.net.listener('in').open();
    expect((await conn.result).ok).toBe(true);
    const session = h.proxy.findSession('Test:in-0');
    if (session === undefined) throw new Error('no session');
    return { conn, session };
  }

  it('disconnect: an endpoint killed mid-session is replaced by the other one', async () => {
    const { conn, session } = await connected(retry('disconnect', 1));
    const reconnected = nextEvent(h.proxy, 'session-connect');
    h.net.endpoint('a').kill();
    await reconnected;
    expect(session.status).toBe('CONNECTED');
    expect(session.destination?.endpoint?.name).toBe('backend-b');
    expect(eventNames(session)).toEqual(['INIT', 'LOOKUP SUCCESS', 'CONNECT', 'DISCONNECT', 'CONNECT']);
    expect(session.events[3]?.message).toBe('Session.disconnect: Stage: backend: Error: endpoint a died');
    conn.client.write(Buffer.from('after'));
    await conn.recorder.until((r) => r.text() === 'after', 'echo via b');
  });

  it('always with num_retries 0 still gets one reconnect attempt (the same meaning as at setup)', async () => {
    const { session } = await connected(retry('always', 0), ['a']);
    const reconnected = nextEvent(h.proxy, 'session-connect');
    h.net.endpoint('a').kill();
    await reconnected;
    expect(session.status).toBe('CONNECTED');
    expect(h.net.endpoint('a').attempts).toBe(2);
  });

  it('num_retries 1 at reconnect: fail then ok reconnects', async () => {
    const { session } = await connected(retry('disconnect', 1), ['a']);
    h.net.endpoint('a').modes.push('fail', 'ok');
    const reconnected = nextEvent(h.proxy, 'session-connect');
    h.net.endpoint('a').kill();
    await reconnected;
    expect(session.status).toBe('CONNECTED');
    expect(h.net.endpoint('a').attempts).toBe(3);
  });

  it('retries exhausted: the session fails and every conduit is closed', async () => {
    const { conn, session } = await connected(retry('disconnect', 1), ['a']);
    h.net.endpoint('a').defaultMode = 'fail';
    const ended = nextEvent(h.proxy, 'session-end');
    h.net.endpoint('a').kill();
    const [, error] = await ended;
    expect(error?.message).toBe(
      'Reconnect failed for session "Test:in-0": Cannot connect to cluster "backend" after 2 attempts: Test endpoint "a" refused',
    );
    expect(session.status).toBe('DESTROYED');
    expect(eventNames(session)).toEqual([
      'INIT',
      'LOOKUP SUCCESS',
      'CONNECT',
      'DISCONNECT',
      'ERROR',
      'DESTROY',
    ]);
    await conn.recorder.until((r) => r.ended, 'source half-closed');
    expect(h.net.endpoint('a').open).toBe(0);
    expect(h.proxy.sessions()).toEqual([]);
  });

  it('never: an endpoint that dies ends the session normally and frees it', async () => {
    const { conn, session } = await connected(retry('never', 1));
    const ended = nextEvent(h.proxy, 'session-end');
    h.net.endpoint('a').kill();
    const [, error] = await ended;
    expect(error).toBeUndefined();
    expect(eventNames(session)).toEqual([
      'INIT',
      'LOOKUP SUCCESS',
      'CONNECT',
      'DISCONNECT',
      'END',
      'DESTROY',
    ]);
    expect(session.events[4]?.message).toBe('Normal end');
    await conn.recorder.until((r) => r.closed, 'source closed');
    expect(h.net.openConduits()).toBe(0);
    expect(h.proxy.sessions()).toEqual([]);
  });

  it('connect-failure does not reconnect after a disconnect', async () => {
    const { session } = await connected(retry('connect-failure', 3));
    const ended = nextEvent(h.proxy, 'session-end');
    h.net.endpoint('a').kill();
    await ended;
    expect(session.status).toBe('DESTROYED');
    expect(h.net.endpoint('b').attempts).toBe(0);
  });

  it('a recursive endpoint delete moves the session to another endpoint', async () => {
    const { conn, session } = await connected(retry('disconnect', 1));
    const reconnected = nextEvent(h.proxy, 'session-connect');
    h.proxy.deleteEndpoint('backend-a', { recursive: true });
    await reconnected;
    expect(session.destination?.endpoint?.name).toBe('backend-b');
    expect(h.net.endpoint('a').open).toBe(0);
    conn.client.write(Buffer.from('x'));
    await conn.recorder.until((r) => r.text() === 'x', 'echo via b');
    // Deleting the last endpoint leaves nothing to reconnect to.
    const ended = nextEvent(h.proxy, 'session-end');
    h.proxy.deleteEndpoint('backend-b', { recursive: true });
    const [, error] = await ended;
    expect(error?.message).toContain('No endpoint in cluster');
  });

  it('a non-recursive endpoint delete leaves live sessions alone', async () => {
    const { session } = await connected(retry('disconnect', 1));
    h.proxy.deleteEndpoint('backend-a');
    expect(session.destination?.endpoint?.name).toBe('backend-a');
    expect(session.status).toBe('CONNECTED');
  });

  it('a stage of a non-retriable cluster fails the session instead of reconnecting', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('fixed', ['a'], { retriable: false }));
    await h.proxy.addListener(testListener('in', 'fixed', retry('always', 2)));
    expect((await h.net.listener('in').open().result).ok).toBe(true);
    const ended = nextEvent(h.proxy, 'session-end');
    h.net.endpoint('a').kill();
    const [, error] = await ended;
    expect(error?.message).toBe('Stage "fixed" of session "Test:in-0" is not retriable');
  });

  it('a client that leaves ends the session normally even with retry_on disconnect', async () => {
    const { conn, session } = await connected(retry('disconnect', 1));
    const ended = nextEvent(h.proxy, 'session-end');
    conn.client.destroy();
    const [, error] = await ended;
    expect(error).toBeUndefined();
    expect(session.events.at(-2)?.message).toBe('Normal end');
    expect(h.net.endpoint('b').attempts).toBe(0);
  });

  it('a source with reconnect() is reopened after it fails', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('backend', ['a']));
    await h.proxy.addListener(testListener('in', 'backend', retry('disconnect', 0)));
    const [client, server] = pair('datagram');
    const [client2, server2] = pair('datagram');
    let reopened = 0;
    const result = await h.net.listener('in').accept({
      conduit: server,
      metadata: {},
      name: 'singleton',
      reconnect: () => {
        reopened++;
        return Promise.resolve(server2);
      },
    });
    expect(result.ok).toBe(true);
    const reconnected = nextEvent(h.proxy, 'session-connect');
    client.destroy();
    await reconnected;
    expect(reopened).toBe(1);
    const recorder = new Recorder(client2);
    client2.write(Buffer.from('again'));
    await recorder.until((r) => r.text() === 'again', 'echo via the reopened source');
  });
});
