import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { startTestCluster, type TestCluster } from './support/cluster';
import { BUNDLE, buildBundle, runBundle, type RunningBundle } from './support/bundle';

const BUILTINS = new Set(builtinModules);

/** Every module name the bundle still loads with require("…") at run time. */
function requiredModules(code: string): string[] {
  const names = new Set<string>();
  for (const match of code.matchAll(/\brequire\(\s*(["'`])([^"'`]+)\1\s*\)/g)) names.add(match[2] ?? '');
  return [...names].sort();
}

describe('the bundled l7mp-operator (dist/l7mp-operator.cjs)', () => {
  let cluster: TestCluster;
  let bundle: RunningBundle | undefined;
  let copy: string;

  beforeAll(async () => {
    await buildBundle();
    cluster = await startTestCluster();
    copy = path.join(cluster.dir, 'l7mp-operator.cjs');
    await copyFile(BUNDLE, copy);
  }, 180_000);

  afterEach(async () => {
    if (bundle !== undefined && bundle.child.exitCode === null && bundle.child.signalCode === null) {
      bundle.child.kill('SIGKILL');
      await bundle.exited;
    }
    bundle = undefined;
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it('inlines every dependency: it requires nothing but Node.js built-ins', async () => {
    const code = await readFile(BUNDLE, 'utf8');
    const modules = requiredModules(code);
    expect(modules).toEqual(expect.arrayContaining(['fs', 'http']));
    expect(modules.filter((name) => !name.startsWith('node:') && !BUILTINS.has(name))).toEqual([]);
    // No require with a computed name that could reach for node_modules at run time either.
    expect(code).not.toMatch(/\brequire\((?!\s*["'`])[^)]*\)/);
    expect(requiredModules('require("x"); require(\'node:fs\')')).toEqual(['node:fs', 'x']);
  });

  it('prints its help, run as a lone copy outside the repository, exit code 0', async () => {
    bundle = runBundle(copy, ['--help'], {});
    expect(await bundle.exited).toEqual({ code: 0, signal: null });
    expect(bundle.output.join('\n')).toContain('Usage: l7mp-operator [options]');
    expect(bundle.output.join('\n')).toContain('--proxy-api-port <port>');
  });

  it('exits 2 on an invalid flag and 1 when it has no cluster to talk to', async () => {
    bundle = runBundle(copy, ['--metrics-port', 'eighty'], {});
    expect(await bundle.exited).toEqual({ code: 2, signal: null });
    expect(bundle.output.join('\n')).toContain('--metrics-port: invalid value "eighty": not a port number');
    bundle = runBundle(copy, ['--metrics-port', '0'], {});
    expect(await bundle.exited).toEqual({ code: 1, signal: null });
    expect(bundle.output.join('\n')).toContain('not running in a cluster (KUBERNETES_SERVICE_HOST is unset)');
  });

  it('runs against an API server, serves its metrics, and stops on SIGTERM with exit code 0', async () => {
    bundle = runBundle(
      copy,
      ['--kubeconfig', cluster.kubeconfig, '--metrics-port', '0', '--metrics-address', '127.0.0.1'],
      { L7MP_NAMESPACES: 'default', L7MP_TOKEN_FILE: cluster.tokenFile, POD_NAME: 'bundled-0' },
    );
    const serving = JSON.parse(await bundle.waitForLine(/serving \/metrics/)) as { port: number };
    await bundle.waitForLine(/l7mp operator started/);
    await bundle.waitForLine(/became the leader: reconciling/);
    const base = `http://127.0.0.1:${serving.port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('l7mp_operator_queue_depth');
    const lease = cluster.api.get('coordination.k8s.io/v1', 'leases', 'default', 'l7mp-operator');
    expect((lease?.spec as { holderIdentity?: string }).holderIdentity).toMatch(/^bundled-0_/);

    bundle.child.kill('SIGTERM');
    expect(await bundle.exited).toEqual({ code: 0, signal: null });
    expect(bundle.output.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    const released = cluster.api.get('coordination.k8s.io/v1', 'leases', 'default', 'l7mp-operator');
    expect((released?.spec as { holderIdentity?: string }).holderIdentity).toBeUndefined();
  });
});
