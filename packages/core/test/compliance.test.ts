import { describe, expect, it } from '@jest/globals';
import type { ListenerSpec } from '@l7mp/config';
import {
  BLACKHOLE_PREFIX,
  collect,
  createLoopbackPlugin,
  createTransportFactories,
  describeTransportCompliance,
  LoopbackConduit,
  loopbackTarget,
  makeClusterContext,
  makeListenerContext,
  nextEvent,
  createTestLogger,
  withTimeout,
} from '../src/testing';
import { EventEmitter } from 'node:events';
import { builtinTransforms } from '../src/transforms';
import { NotFoundError } from '../src/errors';

let channel = 0;
const plugin = createLoopbackPlugin();

for (const kind of ['datagram', 'byte-stream'] as const) {
  describeTransportCompliance({
    protocol: `Loopback (${kind})`,
    kind,
    plugin: kind === 'datagram' ? plugin : createLoopbackPlugin({ kind }),
    listenerSpec: () => ({ protocol: 'Test', channel: `compliance-${channel++}` }) as ListenerSpec,
    clusterFor: (bound) => {
      if (bound === undefined || !('path' in bound)) throw new Error('loopback listeners report a path');
      return loopbackTarget(bound.path);
    },
    reportsPeerClose: true,
    supportsHalfClose: true,
    unreachable: () => loopbackTarget(`${BLACKHOLE_PREFIX}-${channel++}`),
  });
}

describe('testing helpers', () => {
  it('nextEvent resolves with the arguments, rejects on error and on timeout', async () => {
    const emitter = new EventEmitter();
    const next = nextEvent<[number, string]>(emitter, 'ping');
    emitter.emit('ping', 1, 'a');
    expect(await next).toEqual([1, 'a']);
    const failing = nextEvent(emitter, 'ping');
    emitter.emit('error', new Error('boom'));
    await expect(failing).rejects.toThrow('boom');
    await expect(nextEvent(emitter, 'never', 20)).rejects.toThrow(
      'Timed out after 20 ms waiting for event "never"',
    );
    expect(emitter.listenerCount('ping')).toBe(0);
    expect(emitter.listenerCount('error')).toBe(0);
  });

  it('collect reports a close that happens before what a test waits for', async () => {
    const [a, b] = LoopbackConduit.pair();
    const atB = collect(b);
    const waiting = atB.waitFor(1);
    a.destroy();
    await expect(waiting).rejects.toThrow('Conduit closed');
    await expect(withTimeout(new Promise(() => {}), 10, 'nothing')).rejects.toThrow('Timed out');
  });

  it('createTestLogger records what is logged', () => {
    const logger = createTestLogger();
    logger.warn({ detail: 1 }, 'careful');
    expect(logger.records).toHaveLength(1);
    expect(logger.records[0]).toMatchObject({ msg: 'careful', detail: 1, level: 40 });
  });

  it('createTransportFactories finds factories by protocol and names a missing one', () => {
    const factories = createTransportFactories([builtinTransforms]);
    const echo = factories.createCluster(makeClusterContext({ protocol: 'Echo' }));
    expect(echo.virtual).toBe(true);
    expect(() => factories.createCluster(makeClusterContext({ protocol: 'UDP', port: 1 }))).toThrow(
      NotFoundError,
    );
    expect(() =>
      factories.createListener(makeListenerContext({ protocol: 'UDP', port: 1 } as ListenerSpec)),
    ).toThrow('No transport provides a listener of protocol "UDP"');
  });

  it('makeListenerContext passes custom accept results and calls established only on success', async () => {
    const context = makeListenerContext({ protocol: 'Test' } as ListenerSpec, () => ({
      ok: false,
      status: 404,
      message: 'No route',
    }));
    const [conduit] = LoopbackConduit.pair();
    let established = 0;
    const result = await context.accept({
      conduit,
      metadata: {},
      name: 'n',
      established: () => established++,
    });
    expect(result.status).toBe(404);
    expect(established).toBe(0);
    expect(await context.nextConnection()).toMatchObject({ name: 'n' });
    await expect(context.nextConnection(10)).rejects.toThrow('incoming connection #2');
  });

  it('the loopback transport refuses a second bind of a channel and destroys rejected connections', async () => {
    const listenerA = plugin.listeners?.[0]?.create(
      makeListenerContext({ protocol: 'Test', channel: 'dup' } as ListenerSpec),
    );
    const listenerB = plugin.listeners?.[0]?.create(
      makeListenerContext({ protocol: 'Test', channel: 'dup' } as ListenerSpec),
    );
    await listenerA?.start();
    await expect(listenerB?.start()).rejects.toThrow('channel "dup" is already bound');
    await listenerA?.close();

    const refusing = makeListenerContext({ protocol: 'Test', channel: 'refuse' } as ListenerSpec, () => ({
      ok: false,
      status: 404,
      message: 'No route',
    }));
    const listener = plugin.listeners?.[0]?.create(refusing);
    await listener?.start();
    const { spec, endpoint } = loopbackTarget('refuse');
    const cluster = plugin.clusters?.[0]?.create(makeClusterContext(spec));
    const client = await cluster?.connect({
      endpoint,
      sessionName: 's',
      metadata: {},
      timeoutMs: 100,
      signal: new AbortController().signal,
    });
    if (client === undefined) throw new Error('no client');
    expect(await collect(client).waitForClose()).toBeUndefined();
    await listener?.close();
  });

  it('a blackhole connect is given up when its signal aborts', async () => {
    const { spec, endpoint } = loopbackTarget(`${BLACKHOLE_PREFIX}-abort`);
    const cluster = plugin.clusters?.[0]?.create(makeClusterContext(spec));
    const controller = new AbortController();
    const connecting = cluster?.connect({
      endpoint,
      sessionName: 's',
      metadata: {},
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    controller.abort();
    await expect(connecting).rejects.toThrow('connect was aborted');
  });
});
