import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { parseArgs } from '../src/cli';
import { startOperator, type RunningOperator } from '../src/run';
import { allows, CHARTS_DIR, rbacRules } from './support/chart';
import { eventually, readyPod, startTestCluster, type TestCluster } from './support/cluster';
import { toResourceRequest, type ResourceRequest } from './support/recording-proxy';
import { startTestProxy, type TestProxy } from './support/test-proxy';

const NAMESPACE = 'default';

interface Condition {
  type: string;
  status: string;
  reason?: string;
}
const conditionsOf = (object: Record<string, unknown> | undefined): Condition[] =>
  ((object?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[];

describe('l7mp-operator against a dev API server', () => {
  let cluster: TestCluster;
  let proxy: TestProxy;
  let operator: RunningOperator | undefined;

  beforeAll(async () => {
    cluster = await startTestCluster();
    proxy = await startTestProxy('operator-test-token');
    cluster.api.create(
      'v1',
      'pods',
      readyPod('ingress-0', { app: 'l7mp-ingress' }, '10.0.0.5', { 'l7mp.io/api-address': proxy.apiAddress }),
    );
    cluster.api.create('v1', 'pods', readyPod('worker-0', { app: 'worker' }, '10.0.0.7'));
    cluster.api.create('l7mp.io/v1', 'targets', {
      apiVersion: 'l7mp.io/v1',
      kind: 'Target',
      metadata: { name: 'udp-cluster', namespace: NAMESPACE },
      spec: {
        selector: { matchLabels: { app: 'l7mp-ingress' } },
        cluster: {
          spec: { UDP: { port: 9999 } },
          loadbalancer: { policy: 'ConsistentHash' },
          endpoints: [{ selector: { matchLabels: { app: 'worker' } } }],
        },
      },
    });
    // Resources that select no proxy still get their status written.
    cluster.api.create('l7mp.io/v1', 'virtualservices', {
      apiVersion: 'l7mp.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'gateway-vsvc', namespace: NAMESPACE },
      spec: {
        selector: { matchLabels: { app: 'no-such-proxy' } },
        listener: {
          spec: { UDP: { port: 9001 } },
          rules: [{ action: { route: { destinationRef: 'udp-cluster' } } }],
        },
      },
    });
    cluster.api.create('l7mp.io/v1', 'rules', {
      apiVersion: 'l7mp.io/v1',
      kind: 'Rule',
      metadata: { name: 'extra-rule', namespace: NAMESPACE },
      spec: {
        selector: { matchLabels: { app: 'no-such-proxy' } },
        rulelist: 'gateway-rulelist',
        position: 0,
        rule: { action: { route: { destinationRef: 'udp-cluster' } } },
      },
    });
    // A dangling reference: not Accepted, which the operator reports as a condition and an Event.
    cluster.api.create('l7mp.io/v1', 'targets', {
      apiVersion: 'l7mp.io/v1',
      kind: 'Target',
      metadata: { name: 'ws-svc', namespace: NAMESPACE },
      spec: {
        selector: { matchLabels: { app: 'l7mp-ingress' } },
        linkedVirtualService: '/apis/l7mp.io/v1/namespaces/default/virtualservices/missing-vsvc',
      },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await proxy?.close();
    await cluster?.close();
  });

  it('starts from its command line, programs the proxy and reports status, events and metrics', async () => {
    const options = parseArgs(
      [
        '--kubeconfig',
        cluster.kubeconfig,
        '--namespace',
        NAMESPACE,
        '--token-file',
        cluster.tokenFile,
        '--metrics-port',
        '0',
        '--metrics-address',
        '127.0.0.1',
        '--log-level',
        'silent',
      ],
      { stdout: () => undefined, stderr: () => undefined, env: {} },
    );
    if (typeof options === 'number') throw new Error(`exit ${options}`);
    expect(options.leaderElection).toBe(true);
    operator = await startOperator(options, {
      env: { POD_NAME: 'l7mp-operator-0', POD_NAMESPACE: NAMESPACE },
    });
    const running = operator;

    const programmed = await eventually('udp-cluster Programmed', () => {
      const target = cluster.api.get('l7mp.io/v1', 'targets', NAMESPACE, 'udp-cluster');
      return conditionsOf(target).find((c) => c.type === 'Programmed' && c.status === 'True');
    });
    expect(programmed.status).toBe('True');
    const cluster0 = proxy.proxy.dumpConfig() as {
      clusters?: { name: string; endpoints?: { spec?: { address?: string } }[] }[];
    };
    const udpCluster = cluster0.clusters?.find((c) => c.name === '/l7mp.io/v1/Target/default/udp-cluster');
    expect(udpCluster?.endpoints?.map((e) => e.spec?.address)).toEqual(['10.0.0.7']);

    for (const [plural, name] of [
      ['virtualservices', 'gateway-vsvc'],
      ['rules', 'extra-rule'],
    ] as const) {
      await eventually(`${name} has conditions`, () =>
        conditionsOf(cluster.api.get('l7mp.io/v1', plural, NAMESPACE, name)).find(
          (c) => c.type === 'Accepted',
        ),
      );
    }
    const rejected = await eventually('ws-svc not Accepted', () =>
      conditionsOf(cluster.api.get('l7mp.io/v1', 'targets', NAMESPACE, 'ws-svc')).find(
        (c) => c.type === 'Accepted' && c.status === 'False',
      ),
    );
    expect(rejected.reason).toBeDefined();
    await eventually('a Warning Event on ws-svc', () =>
      cluster.api
        .list('v1', 'events', NAMESPACE)
        .find((event) => (event.involvedObject as { name?: string }).name === 'ws-svc'),
    );
    const lease = cluster.api.get('coordination.k8s.io/v1', 'leases', NAMESPACE, 'l7mp-operator');
    expect((lease?.spec as { holderIdentity?: string }).holderIdentity).toMatch(/^l7mp-operator-0_/);

    const base = `http://127.0.0.1:${running.metricsServer.port}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await eventually('proxies_in_sync 1 in /metrics', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return /^l7mp_operator_proxies_in_sync 1$/m.test(text) ? text : undefined;
    });
    expect(metrics).toMatch(/l7mp_operator_proxies_in_sync 1/);
    expect(metrics).toMatch(/l7mp_operator_proxies 1/);
    expect(metrics).toMatch(/l7mp_operator_leader 1/);
    expect(metrics).toMatch(/l7mp_operator_reconcile_duration_seconds_count\{outcome="success"\} [1-9]/);
    expect(metrics).toMatch(/l7mp_operator_queue_depth 0/);

    await running.stop();
    operator = undefined;
    // Stopping releases the Lease so a standby replica takes over at once, and ends the metrics server.
    const released = cluster.api.get('coordination.k8s.io/v1', 'leases', NAMESPACE, 'l7mp-operator');
    expect((released?.spec as { holderIdentity?: string }).holderIdentity).toBeUndefined();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  describe('the RBAC rules of the l7mp-operator chart', () => {
    const rules = rbacRules(path.join(CHARTS_DIR, 'l7mp-operator', 'templates', 'rbac.yaml'));
    const key = (r: ResourceRequest) => `${r.group === '' ? 'core' : r.group} ${r.resource} ${r.verb}`;
    const used = (): ResourceRequest[] =>
      cluster.recorder.requests.map(toResourceRequest).filter((r): r is ResourceRequest => r !== undefined);

    it('allow every request the operator made (ClusterRole bound in the watched namespace, Lease Role in its own)', () => {
      const requests = used();
      expect(requests.length).toBeGreaterThan(10);
      const denied = requests.filter((request) => {
        // The chart binds the ClusterRole with a RoleBinding per watched namespace: no cluster-wide calls.
        if (request.namespace !== NAMESPACE) return true;
        return !(
          allows(rules.clusterRole, request.group, request.resource, request.verb) ||
          allows(rules.role, request.group, request.resource, request.verb)
        );
      });
      expect(denied.map(key)).toEqual([]);
    });

    it('grant nothing the operator did not use', () => {
      const usedKeys = new Set(used().map(key));
      const granted = [...rules.clusterRole, ...rules.role].flatMap((rule) =>
        rule.apiGroups.flatMap((group) =>
          rule.resources.flatMap((resource) => rule.verbs.map((verb) => key({ group, resource, verb }))),
        ),
      );
      expect(granted.filter((grant) => !usedKeys.has(grant))).toEqual([]);
      expect([...usedKeys].sort()).toEqual([...new Set(granted)].sort());
    });

    it('are checked against the request line, which tells a watch from a list', () => {
      expect(
        toResourceRequest({ method: 'GET', url: '/api/v1/namespaces/a/pods?watch=true&resourceVersion=3' }),
      ).toEqual({ group: '', resource: 'pods', verb: 'watch', namespace: 'a' });
      expect(toResourceRequest({ method: 'GET', url: '/api/v1/pods' })).toEqual({
        group: '',
        resource: 'pods',
        verb: 'list',
      });
      expect(
        toResourceRequest({ method: 'PATCH', url: '/apis/l7mp.io/v1/namespaces/a/targets/t/status' }),
      ).toEqual({ group: 'l7mp.io', resource: 'targets/status', verb: 'patch', namespace: 'a' });
      expect(
        toResourceRequest({ method: 'PUT', url: '/apis/coordination.k8s.io/v1/namespaces/a/leases/l' }),
      ).toEqual({ group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: 'a' });
      expect(toResourceRequest({ method: 'GET', url: '/apis/l7mp.io/v1' })).toBeUndefined();
      expect(() => toResourceRequest({ method: 'GET', url: '/metrics/x/y/z' })).toThrow(
        /not a Kubernetes API path/,
      );
      expect(allows(rules.clusterRole, '', 'pods', 'delete')).toBe(false);
      expect(allows(rules.clusterRole, '', 'secrets', 'list')).toBe(false);
    });
  });
});
