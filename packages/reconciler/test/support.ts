import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseDocuments, type ConfigDocument } from '@l7mp/config';
import { createProxy, type Proxy } from '@l7mp/core';
import { l7mpControllerPlugin } from '@l7mp/api';
import { DevApiServer } from '@l7mp/dev-apiserver';
import { ALL_TRANSPORTS } from '../../proxy/src/transports';

export const TASK1_DIR = join(process.cwd().replace(/\/packages\/reconciler$/, ''), 'examples', 'task1');

export function task1Manifests(): Record<string, unknown>[] {
  const files = [
    'uds-cluster',
    'transcoder-vsvc',
    'ws-svc',
    'websocket-cluster',
    'udp-cluster',
    'gateway-vsvc',
  ];
  return files.flatMap(
    (f) => parseDocuments(readFileSync(join(TASK1_DIR, `${f}.yaml`), 'utf8')) as Record<string, unknown>[],
  );
}

export function kubeConfigFor(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'dev', server: url, skipTLSVerify: true }],
    users: [{ name: 'dev' }],
    contexts: [{ name: 'dev', cluster: 'dev', user: 'dev' }],
    currentContext: 'dev',
  });
  return kc;
}

export interface TestProxy {
  proxy: Proxy;
  port: number;
  /** The proxy's own loopback address (its "pod IP"). */
  ip: string;
  address: string;
  config(): Promise<ConfigDocument>;
  close(): Promise<void>;
}

/**
 * A loopback address of its own for each test proxy, the way each pod has its own IP: the
 * seed's fixed ports (9001, 8888) are then bound on that address only and cannot clash with
 * anything else on the machine.
 */
export function podLoopbackAddress(): string {
  const octet = () => 1 + Math.floor(Math.random() * 254);
  return `127.${100 + Math.floor(Math.random() * 150)}.${octet()}.${octet()}`;
}

/** A real proxy with its REST API on its own loopback address (port 0 unless given). */
export async function startProxy(
  options: { token?: string; port?: number; ip?: string } = {},
): Promise<TestProxy> {
  const ip = options.ip ?? podLoopbackAddress();
  const holder: { proxy?: Proxy } = {};
  const controller = l7mpControllerPlugin(
    () => {
      if (holder.proxy === undefined) throw new Error('proxy not ready');
      return holder.proxy;
    },
    { token: () => options.token },
  );
  const proxy = createProxy({ transports: [...ALL_TRANSPORTS, controller], listenAddress: ip });
  holder.proxy = proxy;
  await proxy.applyConfig({
    listeners: [
      {
        name: 'controller-listener',
        spec: { protocol: 'HTTP', port: options.port ?? 0, address: ip },
        rules: [
          {
            action: {
              route: { destination: { name: 'l7mp-controller', spec: { protocol: 'L7mpController' } } },
            },
          },
        ],
      },
    ],
  });
  const bound = proxy.listenerAddress('controller-listener') as { port: number };
  const address = `${ip}:${bound.port}`;
  return {
    proxy,
    port: bound.port,
    ip,
    address,
    config: async () => proxy.dumpConfig(),
    close: () => proxy.close(),
  };
}

export interface PodSpec {
  name: string;
  ip: string;
  labels: Record<string, string>;
  ready?: boolean;
  apiAddress?: string;
  namespace?: string;
  restartCount?: number;
}

export function podBody(p: PodSpec): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace ?? 'default',
      labels: p.labels,
      ...(p.apiAddress !== undefined ? { annotations: { 'l7mp.io/api-address': p.apiAddress } } : {}),
    },
    spec: { containers: [{ name: 'sidecar', image: 'l7mp/l7mp:latest' }] },
    status: {
      phase: 'Running',
      podIP: p.ip,
      conditions: [{ type: 'Ready', status: p.ready === false ? 'False' : 'True' }],
      containerStatuses: [
        {
          name: 'sidecar',
          ready: p.ready !== false,
          restartCount: p.restartCount ?? 0,
          image: 'x',
          imageID: 'x',
        },
      ],
    },
  };
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 8000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${lastError !== undefined ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const names = <T extends { name: string }>(items: T[]) => items.map((i) => i.name).sort();

export { DevApiServer };
