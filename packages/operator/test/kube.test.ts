import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StartupError } from '../src/errors';
import { checkReadable, leaderIdentity, loadKubeConfig, ownNamespace } from '../src/kube';

function kubeconfigYaml(server: string, context: string, namespace?: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{ name: ${context}, cluster: { server: "${server}" } }]`,
    `users: [{ name: ${context}, user: { token: t } }]`,
    `contexts: [{ name: ${context}, context: { cluster: ${context}, user: ${context}${namespace !== undefined ? `, namespace: ${namespace}` : ''} } }]`,
    `current-context: ${context}`,
    '',
  ].join('\n');
}

describe('kubeconfig and identity', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'l7mp-kube-'));
    await writeFile(path.join(dir, 'one'), kubeconfigYaml('https://one.example:6443', 'one', 'team-a'));
    await writeFile(path.join(dir, 'two'), kubeconfigYaml('https://two.example:6443', 'two'));
    await writeFile(path.join(dir, 'broken'), 'clusters: [{ name: x }]\n');
    await writeFile(path.join(dir, 'token'), 'secret\n');
    await mkdir(path.join(dir, 'sa'));
    await writeFile(path.join(dir, 'sa', 'namespace'), 'from-sa\n');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a kubeconfig file, and merges a path list keeping the first current context', () => {
    const single = loadKubeConfig(path.join(dir, 'one'), {});
    expect(single.getCurrentCluster()?.server).toBe('https://one.example:6443');
    const merged = loadKubeConfig(`${path.join(dir, 'one')}:${path.join(dir, 'two')}`, {});
    expect(merged.getCurrentContext()).toBe('one');
    expect(merged.getContexts().map((context) => context.name)).toEqual(['one', 'two']);
  });

  it('uses the in-cluster service account without a kubeconfig', () => {
    const config = loadKubeConfig(undefined, {
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
      KUBERNETES_SERVICE_PORT: '443',
    });
    expect(config.getCurrentCluster()?.server).toBe('https://10.0.0.1:443');
  });

  it('names the problem when there is no usable config', () => {
    expect(() => loadKubeConfig(undefined, {})).toThrow(StartupError);
    expect(() => loadKubeConfig(undefined, {})).toThrow(
      /not running in a cluster \(KUBERNETES_SERVICE_HOST is unset\)/,
    );
    expect(() => loadKubeConfig(path.join(dir, 'missing'), {})).toThrow(
      /missing: cannot load kubeconfig: ENOENT/,
    );
    expect(() => loadKubeConfig(path.join(dir, 'broken'), {})).toThrow(/broken: cannot load kubeconfig/);
    expect(() => loadKubeConfig(':', {})).toThrow(/--kubeconfig: no file given/);
  });

  it('finds its own namespace: POD_NAMESPACE, the service account, the context, else default', () => {
    const config = loadKubeConfig(path.join(dir, 'one'), {});
    const noSa = path.join(dir, 'no-sa');
    expect(ownNamespace(config, { POD_NAMESPACE: 'from-env' }, path.join(dir, 'sa'))).toBe('from-env');
    expect(ownNamespace(config, {}, path.join(dir, 'sa'))).toBe('from-sa');
    expect(ownNamespace(config, {}, noSa)).toBe('team-a');
    expect(ownNamespace(loadKubeConfig(path.join(dir, 'two'), {}), { POD_NAMESPACE: ' ' }, noSa)).toBe(
      'default',
    );
  });

  it('gives each process its own leader identity, readable as the pod name', () => {
    const first = leaderIdentity({ POD_NAME: 'l7mp-operator-abc' });
    expect(first).toMatch(/^l7mp-operator-abc_[0-9a-f]{8}$/);
    expect(leaderIdentity({ POD_NAME: 'l7mp-operator-abc' })).not.toBe(first);
    expect(leaderIdentity({})).toMatch(/^.+_[0-9a-f]{8}$/);
  });

  it('checks that the token file can be read', async () => {
    await expect(checkReadable(path.join(dir, 'token'))).resolves.toBeUndefined();
    await expect(checkReadable(path.join(dir, 'nope'))).rejects.toThrow(
      /nope: token file is not readable: ENOENT/,
    );
  });
});
