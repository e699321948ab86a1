import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import type { Reconciler, ReconcilerOptions } from '@l7mp/reconciler';
import { parseArgs, type OperatorOptions } from '../src/cli';
import { startFromArgs } from '../src/main';
import { startOperator } from '../src/run';
import { startTestCluster, type TestCluster } from './support/cluster';

function options(argv: string[]): OperatorOptions {
  const parsed = parseArgs(argv, { stdout: () => undefined, stderr: () => undefined, env: {} });
  if (typeof parsed === 'number') throw new Error(`exit ${parsed}`);
  return parsed;
}

/** A reconciler that records its options and fails (or not) to start. */
function fakeReconciler(failStart: boolean) {
  const calls: string[] = [];
  let received: ReconcilerOptions | undefined;
  const create = (opts: ReconcilerOptions): Reconciler => {
    received = opts;
    return {
      start: async () => {
        calls.push('start');
        if (failStart) throw new Error('API server said no');
      },
      stop: async () => {
        calls.push('stop');
      },
      isLeader: () => false,
      proxies: () => [],
    };
  };
  return { create, calls, options: () => received };
}

describe('starting the operator', () => {
  let cluster: TestCluster;
  let blocker: Server;
  let blockedPort: number;

  beforeAll(async () => {
    cluster = await startTestCluster();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    blockedPort = address.port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    await cluster.close();
  });

  const base = () => ['--kubeconfig', cluster.kubeconfig, '--metrics-address', '127.0.0.1', '-l', 'silent'];

  it('hands the reconciler its namespaces, port, token file, resync period and leader election', async () => {
    const fake = fakeReconciler(false);
    const operator = await startOperator(
      options([
        ...base(),
        '--metrics-port',
        '0',
        '--proxy-api-port',
        '4000',
        '--resync-period',
        '2m',
        '--token-file',
        cluster.tokenFile,
      ]),
      { env: { POD_NAMESPACE: 'ops', POD_NAME: 'op-1' }, createReconciler: fake.create },
    );
    const received = fake.options();
    expect(received).toMatchObject({
      namespaces: ['ops'],
      apiPort: 4000,
      tokenFile: cluster.tokenFile,
      resyncPeriodMs: 120_000,
      leaderElection: { namespace: 'ops', leaseName: 'l7mp-operator' },
    });
    expect(received?.leaderElection?.identity).toMatch(/^op-1_/);
    // The hooks feed the metrics.
    received?.hooks?.onReconcile?.({ proxy: 'a/b', outcome: 'error', durationMs: 40, calls: 1 });
    received?.hooks?.onQueueDepth?.(7);
    received?.hooks?.onProxiesInSync?.(2, 3);
    received?.hooks?.onLeadership?.(true);
    const text = await operator.metrics.registry.metrics();
    expect(text).toContain('l7mp_operator_reconcile_errors_total 1');
    expect(text).toContain('l7mp_operator_reconcile_duration_seconds_sum{outcome="error"} 0.04');
    expect(text).toContain('l7mp_operator_queue_depth 7');
    expect(text).toContain('l7mp_operator_proxies_in_sync 2');
    expect(text).toContain('l7mp_operator_proxies 3');
    expect(text).toContain('l7mp_operator_leader 1');
    await Promise.all([operator.stop(), operator.stop()]);
    expect(fake.calls).toEqual(['start', 'stop']);
  });

  it('watches all namespaces with -A and runs without a Lease with --no-leader-election', async () => {
    const fake = fakeReconciler(false);
    const operator = await startOperator(
      options([...base(), '--metrics-port', '0', '-A', '--no-leader-election']),
      {
        env: {},
        createReconciler: fake.create,
      },
    );
    expect(fake.options()?.namespaces).toEqual([]);
    expect(fake.options()?.leaderElection).toBeUndefined();
    expect(operator.namespaces).toEqual([]);
    expect(await operator.metrics.registry.metrics()).toContain('l7mp_operator_leader 1');
    await operator.stop();
  });

  it('fails, naming the file, when the token file cannot be read; nothing is started', async () => {
    const fake = fakeReconciler(false);
    const missing = path.join(cluster.dir, 'no-token');
    await expect(
      startOperator(options([...base(), '--metrics-port', '0', '--token-file', missing]), {
        env: {},
        createReconciler: fake.create,
      }),
    ).rejects.toThrow(`${missing}: token file is not readable: ENOENT`);
    expect(fake.calls).toEqual([]);
  });

  it('fails when the metrics port is taken, before touching the cluster', async () => {
    const fake = fakeReconciler(false);
    await expect(
      startOperator(options([...base(), '--metrics-port', String(blockedPort)]), {
        env: {},
        createReconciler: fake.create,
      }),
    ).rejects.toThrow(`metrics server: cannot listen on 127.0.0.1:${blockedPort}`);
    expect(fake.calls).toEqual([]);
  });

  it('stops the reconciler and frees the metrics port when the reconciler cannot start', async () => {
    const fake = fakeReconciler(true);
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expect(
      startOperator(options([...base(), '--metrics-port', String(address.port)]), {
        env: {},
        createReconciler: fake.create,
      }),
    ).rejects.toThrow('API server said no');
    expect(fake.calls).toEqual(['start', 'stop']);
    // The port is free again: the metrics server was closed.
    await expect(fetch(`http://127.0.0.1:${address.port}/healthz`)).rejects.toThrow();
  });

  it('startFromArgs turns start-up failures into exit code 1 with the reason on stderr', async () => {
    const stderr: string[] = [];
    const io = { stdout: () => undefined, stderr: (text: string) => stderr.push(text), env: {} };
    expect(await startFromArgs(['--metrics-port', '0'], io)).toBe(1);
    expect(stderr.join('')).toMatch(/not running in a cluster[\s\S]*could not start/);
    expect(await startFromArgs(['--metrics-port', 'x'], io)).toBe(2);
    expect(await startFromArgs(['--help'], io)).toBe(0);
  });
});
