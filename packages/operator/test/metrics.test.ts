import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { Gauge } from 'prom-client';
import { MetricsServerError, OperatorMetrics, startMetricsServer, type MetricsServer } from '../src/metrics';

const LOOPBACK = { port: 0, address: '127.0.0.1' };

describe('operator metrics and health endpoints', () => {
  let server: MetricsServer | undefined;
  let blocker: Server | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
  });

  const get = (path: string, method = 'GET') =>
    fetch(`http://127.0.0.1:${server?.port ?? 0}${path}`, { method });

  it('exposes the reconcile, queue and proxy metrics in Prometheus text format', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    server = await startMetricsServer(metrics, { healthy: () => true, ready: () => true }, LOOPBACK);
    metrics.observeReconcile(0.02, 'success');
    metrics.observeReconcile(1.5, 'error');
    metrics.observeReconcile(0.2, 'error');
    metrics.queueDepth.set(3);
    metrics.proxiesInSync.set(2);
    metrics.proxies.set(5);
    metrics.leader.set(1);

    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('l7mp_operator_reconcile_duration_seconds_count{outcome="success"} 1');
    expect(text).toContain('l7mp_operator_reconcile_duration_seconds_count{outcome="error"} 2');
    expect(text).toContain('l7mp_operator_reconcile_duration_seconds_bucket{le="0.025",outcome="success"} 1');
    expect(text).toContain('l7mp_operator_reconcile_errors_total 2');
    expect(text).toContain('l7mp_operator_queue_depth 3');
    expect(text).toContain('l7mp_operator_proxies_in_sync 2');
    expect(text).toContain('l7mp_operator_proxies 5');
    expect(text).toContain('l7mp_operator_leader 1');
    // Only the operator's own registry: nothing else leaks in.
    expect(text).not.toContain('process_cpu_seconds_total');
  });

  it('adds the process metrics by default', async () => {
    const metrics = new OperatorMetrics();
    server = await startMetricsServer(metrics, { healthy: () => true, ready: () => true }, LOOPBACK);
    expect(await (await get('/metrics')).text()).toContain('process_cpu_seconds_total');
  });

  it('answers /healthz and /readyz from the checks it is given', async () => {
    let healthy = true;
    let ready = false;
    server = await startMetricsServer(
      new OperatorMetrics({ defaultMetrics: false }),
      { healthy: () => healthy, ready: () => ready },
      LOOPBACK,
    );
    expect((await get('/healthz')).status).toBe(200);
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('not ready\n');
    ready = true;
    expect((await get('/readyz?verbose=1')).status).toBe(200);
    healthy = false;
    expect((await get('/healthz')).status).toBe(503);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    server = await startMetricsServer(
      new OperatorMetrics({ defaultMetrics: false }),
      { healthy: () => true, ready: () => true },
      LOOPBACK,
    );
    expect((await get('/nope')).status).toBe(404);
    const post = await get('/metrics', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('answers 500 (and keeps serving) when a collector throws', async () => {
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    metrics.registry.registerMetric(
      new Gauge({
        name: 'broken_metric',
        help: 'throws on collect',
        registers: [],
        collect() {
          throw new Error('collector failed');
        },
      }),
    );
    server = await startMetricsServer(metrics, { healthy: () => true, ready: () => true }, LOOPBACK);
    const response = await get('/metrics');
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('collector failed');
    expect((await get('/healthz')).status).toBe(200);
  });

  it('fails with a MetricsServerError naming the address when the port is taken', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker?.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const attempt = startMetricsServer(
      new OperatorMetrics({ defaultMetrics: false }),
      { healthy: () => true, ready: () => true },
      { port: address.port, address: '127.0.0.1' },
    );
    await expect(attempt).rejects.toThrow(MetricsServerError);
    await expect(attempt).rejects.toThrow(`cannot listen on 127.0.0.1:${address.port}: listen EADDRINUSE`);
  });
});
