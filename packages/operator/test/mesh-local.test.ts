import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DevApiServer } from '@l7mp/dev-apiserver';
import { applyManifest, LAST_APPLIED, mergeDiff, pathsOf } from '../../../examples/task1/demo/apply';
import { LocalKubelet } from '../../../examples/task1/demo/kubelet';
import {
  isProgrammed,
  kubeconfigYaml,
  podManifest,
  seedManifests,
  waitForState,
} from '../../../examples/task1/demo/mesh';
import { DemoError } from '../../../examples/task1/demo/processes';
import { randomSubnet, REPO_ROOT } from '../../../examples/task1/demo/topology';

let server: DevApiServer;
let url: string;
let runDir: string;
beforeEach(async () => {
  server = new DevApiServer();
  ({ url } = await server.start());
  runDir = await mkdtemp(path.join(tmpdir(), 'mesh-local-'));
  await mkdir(path.join(runDir, 'logs'));
});
afterEach(async () => {
  await server.stop();
  await rm(runDir, { recursive: true, force: true });
});

const target = (policy: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'l7mp.io/v1',
  kind: 'Target',
  metadata: { name: 't', ...extra },
  spec: {
    selector: { matchLabels: { app: 'l7mp-ingress' } },
    cluster: { spec: { UDP: { port: 9999 } }, loadbalancer: { policy } },
  },
});

describe('the demo applier (client-side apply like kubectl)', () => {
  it('creates with the last-applied annotation, then patches three-way and reports unchanged', async () => {
    expect(await applyManifest(url, target('ConsistentHash', { labels: { a: '1' } }))).toBe('created');
    const created = server.get('l7mp.io/v1', 'targets', 'default', 't') as {
      metadata: { annotations: Record<string, string>; labels?: Record<string, string> };
    };
    expect(JSON.parse(created.metadata.annotations[LAST_APPLIED] ?? '{}')).toMatchObject({
      metadata: { name: 't', namespace: 'default', annotations: {} },
    });
    expect(await applyManifest(url, target('ConsistentHash', { labels: { a: '1' } }))).toBe('unchanged');
    // The label the last apply set and this one drops is removed; a label set by others stays.
    server.patch('l7mp.io/v1', 'targets', 'default', 't', { metadata: { labels: { other: 'x' } } });
    expect(await applyManifest(url, target('Trivial', { labels: { b: '2' } }))).toBe('configured');
    const patched = server.get('l7mp.io/v1', 'targets', 'default', 't') as {
      metadata: { labels?: Record<string, string> };
      spec: { cluster: { loadbalancer: { policy: string } } };
    };
    expect(patched.spec.cluster.loadbalancer.policy).toBe('Trivial');
    expect(patched.metadata.labels).toEqual({ other: 'x', b: '2' });
  });

  it('fails with the server message for an invalid object or a bad manifest', async () => {
    const bad = { ...target('x'), spec: { selector: {}, cluster: { spec: { Bogus: {} } } } };
    await expect(applyManifest(url, bad)).rejects.toThrow(DemoError);
    await expect(applyManifest(url, bad)).rejects.toThrow(/create .*targets\/t: 422/);
    expect(() => pathsOf({ kind: 'Target', metadata: { name: 'x' } })).toThrow(
      /apiVersion, kind and metadata.name/,
    );
    await expect(applyManifest('http://127.0.0.1:1', target('Trivial'))).rejects.toThrow(/GET .* failed/);
  });

  it('computes merge patches and REST paths', () => {
    expect(mergeDiff({ a: 1, b: { c: 1, d: 2 } }, { b: { c: 1, d: 3 }, e: [1] })).toEqual({
      a: null,
      b: { d: 3 },
      e: [1],
    });
    expect(pathsOf({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' } }).item).toBe(
      '/api/v1/namespaces/n/pods/p',
    );
    expect(pathsOf(target('x')).collection).toBe('/apis/l7mp.io/v1/namespaces/default/targets');
  });
});

describe('mesh helpers', () => {
  it('reads the six seed CRs and writes a kubeconfig client-node accepts over http', () => {
    expect(
      seedManifests()
        .map((m) => `${String(m.kind)}/${(m.metadata as { name: string }).name}`)
        .sort(),
    ).toEqual([
      'Target/udp-cluster',
      'Target/uds-cluster',
      'Target/websocket-cluster',
      'Target/ws-svc',
      'VirtualService/gateway-vsvc',
      'VirtualService/transcoder-vsvc',
    ]);
    expect(kubeconfigYaml('http://127.0.0.1:5')).toMatch(
      /server: http:\/\/127\.0\.0\.1:5\n\s+insecure-skip-tls-verify: true/,
    );
  });

  it('reads Programmed for the current generation only', () => {
    const at = (observedGeneration: number) => ({
      metadata: { generation: 2 },
      status: { conditions: [{ type: 'Programmed', status: 'True', observedGeneration }] },
    });
    expect(isProgrammed(at(2))).toBe(true);
    expect(isProgrammed(at(1))).toBe(false);
    expect(isProgrammed(undefined)).toBe(false);
  });

  it('waits for a state on changes, times out, and ends with the error of a throwing check', async () => {
    const waiting = waitForState(server, 'pod p', () => server.get('v1', 'pods', 'default', 'p'), 2000);
    server.create('v1', 'pods', { metadata: { name: 'p' } });
    expect(await waiting).toMatchObject({ metadata: { name: 'p' } });
    await expect(waitForState(server, 'nothing', () => undefined, 50)).rejects.toThrow(
      /timed out after 50 ms waiting for nothing/,
    );
    let calls = 0;
    const failing = waitForState(
      server,
      'a failure',
      () => {
        calls += 1;
        if (calls > 1) throw new DemoError('the pod failed');
        return undefined;
      },
      2000,
    );
    server.create('v1', 'pods', { metadata: { name: 'q' } });
    await expect(failing).rejects.toThrow('the pod failed');
  });
});

describe('the local kubelet', () => {
  it('reports a pod whose processes cannot start as Failed, and ignores pods it does not run', async () => {
    const errors: string[] = [];
    const kubelet = new LocalKubelet({
      server,
      subnet: randomSubnet(),
      binDir: path.join(runDir, 'no-such-bin-dir'),
      runDir,
      onError: (pod, error) => errors.push(`${pod}: ${error.message}`),
    });
    kubelet.start();
    try {
      server.create('v1', 'pods', { metadata: { name: 'other', labels: { app: 'nginx' } } });
      server.create('v1', 'pods', {
        ...podManifest('elsewhere', 'worker'),
        status: { podIP: '10.0.0.1' },
      });
      server.create('v1', 'pods', podManifest('ingress-0', 'ingress'));
      const failed = await waitForState(
        server,
        'the ingress pod to fail',
        () => {
          const pod = server.get('v1', 'pods', 'default', 'ingress-0') as {
            status?: { phase?: string; message?: string };
          };
          return pod.status?.phase === 'Failed' ? pod.status : undefined;
        },
        15_000,
      );
      expect(failed.message).toMatch(/ingress-0\/l7mp exited .* before it was ready/);
      expect(errors).toEqual([expect.stringMatching(/^ingress-0: /)]);
      expect(kubelet.list()).toEqual([]);
      expect(server.get('v1', 'pods', 'default', 'other')).not.toHaveProperty('status');
    } finally {
      await kubelet.stop();
    }
  }, 20_000);
});

describe('the local kubelet and echo apps, failing', () => {
  it('reports a pod it has no address left for', async () => {
    const errors: string[] = [];
    const kubelet = new LocalKubelet({
      server,
      subnet: '127.0.0',
      binDir: runDir,
      runDir,
      hosts: { first: 10, last: 9 },
      onError: (pod, error) => errors.push(`${pod}: ${error.message}`),
    });
    kubelet.start();
    try {
      server.create('v1', 'pods', podManifest('worker-x', 'worker'));
      await new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const poll = setInterval(() => {
          if (errors.length > 0 || Date.now() - started > 5000) {
            clearInterval(poll);
            if (errors.length > 0) resolve();
            else reject(new Error('no error reported'));
          }
        }, 10);
      });
      expect(errors).toEqual(['worker-x: no loopback address left in 127.0.0.0/24 for pod worker-x']);
      expect(kubelet.list()).toEqual([]);
    } finally {
      await kubelet.stop();
    }
  });

  it('uds-echo refuses an unknown --mode with exit code 2', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'examples/task1/demo/uds-echo.ts',
        '--socket',
        path.join(runDir, 'x.sock'),
        '--pod',
        'p',
        '--mode',
        'datagram',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--mode must be stream or seqpacket, got "datagram"/);
  }, 20_000);
});
