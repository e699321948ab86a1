import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DevApiServer } from '@l7mp/dev-apiserver';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy';

export const TOKEN = 'operator-test-token';

/** A fake API server behind a recording proxy, a kubeconfig for it and a token file, in a temp dir. */
export interface TestCluster {
  api: DevApiServer;
  recorder: RecordingProxy;
  dir: string;
  kubeconfig: string;
  tokenFile: string;
  close(): Promise<void>;
}

export async function startTestCluster(): Promise<TestCluster> {
  const api = new DevApiServer();
  const { url } = await api.start();
  const recorder = await startRecordingProxy(url);
  const dir = await mkdtemp(path.join(tmpdir(), 'l7mp-operator-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  // client-node refuses plain HTTP unless TLS verification is off.
  await writeFile(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{ name: dev, cluster: { server: "${recorder.url}", insecure-skip-tls-verify: true } }]`,
      'users: [{ name: dev, user: { token: dev-token } }]',
      'contexts: [{ name: dev, context: { cluster: dev, user: dev, namespace: default } }]',
      'current-context: dev',
      '',
    ].join('\n'),
  );
  const tokenFile = path.join(dir, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  return {
    api,
    recorder,
    dir,
    kubeconfig,
    tokenFile,
    close: async () => {
      await recorder.close();
      await api.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function readyPod(name: string, labels: Record<string, string>, podIP: string, annotations = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels, annotations },
    spec: { containers: [{ name: 'l7mp', image: 'l7mp/l7mp-ingress' }] },
    status: {
      phase: 'Running',
      podIP,
      podIPs: [{ ip: podIP }],
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        { name: 'l7mp', ready: true, restartCount: 0, image: 'x', imageID: 'x', state: { running: {} } },
      ],
    },
  };
}

/** Resolves once `check` returns a value (polled; the API server has no push for tests). */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
