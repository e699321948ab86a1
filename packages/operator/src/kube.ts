import { readFileSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import { delimiter } from 'node:path';
import { randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { StartupError } from './errors';

/** Where Kubernetes mounts the service account of a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The API server connection: the kubeconfig file(s) given (a `:`-separated list is merged like
 * kubectl does), else the in-cluster service account.
 */
export function loadKubeConfig(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfig !== undefined) {
    const files = kubeconfig.split(delimiter).filter((file) => file !== '');
    const [first, ...rest] = files;
    if (first === undefined) throw new StartupError('--kubeconfig', 'no file given');
    for (const file of [first, ...rest]) {
      const part = file === first ? config : new KubeConfig();
      try {
        part.loadFromFile(file);
      } catch (error) {
        throw new StartupError(file, `cannot load kubeconfig: ${(error as Error).message}`);
      }
      if (part !== config) config.mergeConfig(part, true);
    }
    if (config.getCurrentCluster() === null) {
      throw new StartupError(first, 'the current context names no cluster');
    }
    return config;
  }
  if (env.KUBERNETES_SERVICE_HOST === undefined || env.KUBERNETES_SERVICE_PORT === undefined) {
    throw new StartupError(
      'l7mp-operator',
      'no --kubeconfig (or KUBECONFIG) given and not running in a cluster (KUBERNETES_SERVICE_HOST is unset)',
    );
  }
  return inClusterConfig(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT);
}

/** The service account config of a pod, from the given environment (not necessarily process.env). */
function inClusterConfig(host: string, port: string): KubeConfig {
  const config = new KubeConfig();
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  config.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile: `${SERVICE_ACCOUNT_DIR}/ca.crt`, skipTLSVerify: false }],
    // The token file is re-read as the kubelet rotates it (client-node's tokenFile provider).
    users: [
      {
        name: 'in-cluster',
        authProvider: { name: 'tokenFile', config: { tokenFile: `${SERVICE_ACCOUNT_DIR}/token` } },
      },
    ],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }],
    currentContext: 'in-cluster',
  });
  return config;
}

/**
 * The namespace the operator runs in: POD_NAMESPACE (downward API), the service account's
 * namespace file, the kubeconfig context's namespace, else `default`.
 */
export function ownNamespace(
  config: KubeConfig,
  env: NodeJS.ProcessEnv,
  serviceAccountDir = SERVICE_ACCOUNT_DIR,
): string {
  const fromEnv = env.POD_NAMESPACE?.trim();
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    const fromFile = readFileSync(`${serviceAccountDir}/namespace`, 'utf8').trim();
    if (fromFile !== '') return fromFile;
  } catch {
    // Not in a pod: fall through to the kubeconfig.
  }
  const context = config.getContextObject(config.getCurrentContext());
  return context?.namespace ?? 'default';
}

/** A leader election identity unique per process, readable as the pod that holds the Lease. */
export function leaderIdentity(env: NodeJS.ProcessEnv): string {
  const name = env.POD_NAME?.trim();
  return `${name !== undefined && name !== '' ? name : hostname()}_${randomUUID().slice(0, 8)}`;
}

/** Fails early, with the file named, when the proxies' token file cannot be read. */
export async function checkReadable(file: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch (error) {
    throw new StartupError(
      file,
      `token file is not readable: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}
