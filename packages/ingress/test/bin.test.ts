import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { buildPackageBin, listenerReady, runBin, type RunningBin } from '@l7mp/sidecar/testing';
import { ingressConfig } from '@l7mp/ingress';

const PACKAGE_DIR = path.resolve(__dirname, '..');
let bin: string;
let running: RunningBin | undefined;

beforeAll(async () => {
  bin = await buildPackageBin(PACKAGE_DIR, 'l7mp-ingress');
}, 180_000);

afterEach(async () => {
  await running?.kill();
  running = undefined;
});

describe('the l7mp-ingress bin', () => {
  it('serves Prometheus metrics on its metrics port and the REST API on POD_IP', async () => {
    running = runBin(bin, ['--api-port', '0', '--metrics-port', '0'], { POD_IP: '127.0.0.1' });
    const apiAt = await listenerReady(running, 'controller-listener');
    const metricsAt = await listenerReady(running, 'prometheus-listener');
    expect(apiAt.address).toBe('127.0.0.1');
    expect(metricsAt.address).toBe('127.0.0.1');
    const ready = await fetch(`http://127.0.0.1:${apiAt.port}/readyz`);
    expect(ready.status).toBe(200);
    await ready.text();
    const metrics = await fetch(`http://127.0.0.1:${metricsAt.port}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/^# HELP \w+ /m);
    // Only /metrics is served there.
    const other = await fetch(`http://127.0.0.1:${metricsAt.port}/api/v1/listeners`);
    expect(other.status).not.toBe(200);
    await other.text();
    running.child.kill('SIGTERM');
    expect(await running.exited).toEqual({ code: 0, signal: null });
  });

  it('--no-metrics leaves only the REST API', async () => {
    running = runBin(bin, ['--api-port', '0', '--no-metrics'], { POD_IP: '127.0.0.1' });
    const apiAt = await listenerReady(running, 'controller-listener');
    const listeners = (await (await fetch(`http://127.0.0.1:${apiAt.port}/api/v1/listeners`)).json()) as {
      name: string;
    }[];
    expect(listeners.map((l) => l.name)).toEqual(['controller-listener']);
  });

  it('prints help and rejects bad flags with exit code 2', async () => {
    running = runBin(bin, ['--help']);
    expect((await running.exited).code).toBe(0);
    expect(running.stdout.join('\n')).toContain('--metrics-port <port>');
    for (const args of [['--metrics-port', '-1'], ['--frobnicate']]) {
      running = runBin(bin, args);
      expect((await running.exited).code).toBe(2);
    }
  });
});

describe('ingressConfig', () => {
  it('routes GET /metrics to a Prometheus cluster, as the helm chart does', () => {
    const config = ingressConfig({
      apiAddress: '10.0.0.5',
      apiPort: 1234,
      metrics: { address: '10.0.0.5', port: 8080 },
    });
    expect(config.listeners).toEqual([
      expect.objectContaining({
        name: 'controller-listener',
        spec: { protocol: 'HTTP', port: 1234, address: '10.0.0.5' },
      }),
      {
        name: 'prometheus-listener',
        spec: { protocol: 'HTTP', port: 8080, address: '10.0.0.5' },
        rules: [
          {
            match: { op: 'starts', path: '/HTTP/url/path', value: '/metrics' },
            action: { route: { destination: { name: 'prometheus', spec: { protocol: 'Prometheus' } } } },
          },
        ],
      },
    ]);
  });
});
