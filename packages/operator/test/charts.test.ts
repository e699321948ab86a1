import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import {
  CHARTS_DIR,
  rbacRules,
  templateDocuments,
  templateFiles,
  withPlaceholders,
  type Manifest,
} from './support/chart';

const operatorPackage = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
  version: string;
};

function yamlFile(...parts: string[]): Record<string, unknown> {
  return parse(readFileSync(path.join(CHARTS_DIR, ...parts), 'utf8')) as Record<string, unknown>;
}

function only(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as Manifest;
}

interface Container {
  name: string;
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  hostNetwork?: unknown;
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string } }[];
}
const podSpec = (workload: Manifest) => (workload.spec as { template: { spec: PodSpec } }).template.spec;

describe('the helm charts', () => {
  it('is a walk over both charts: Chart.yaml v2 with the package version, values parse', () => {
    for (const chart of ['l7mp-operator', 'l7mp-ingress']) {
      const meta = yamlFile(chart, 'Chart.yaml');
      expect(meta).toMatchObject({ apiVersion: 'v2', name: chart, type: 'application' });
      expect(meta.appVersion).toBe(operatorPackage.version);
      expect(yamlFile(chart, 'values.yaml')).toEqual(expect.any(Object));
    }
  });

  it.each([
    ...templateFiles('l7mp-operator').map((file) => ['l7mp-operator', path.basename(file)]),
    ...templateFiles('l7mp-ingress').map((file) => ['l7mp-ingress', path.basename(file)]),
  ])('%s/templates/%s is YAML once its template actions are replaced', (chart, name) => {
    const manifests = templateDocuments(path.join(CHARTS_DIR, chart, 'templates', name));
    for (const manifest of manifests) {
      expect(typeof manifest.apiVersion).toBe('string');
      expect(typeof manifest.kind).toBe('string');
      expect(manifest.metadata).toEqual(expect.any(Object));
      // No API version that Kubernetes >= 1.22 no longer serves (the original used rbac v1beta1).
      expect(manifest.apiVersion).not.toMatch(/v1beta1|v1alpha1/);
    }
  });

  it('neutralises actions the way the YAML check needs', () => {
    expect(
      withPlaceholders('a:\n  {{- if .X }}\n  b: {{ .Y | quote }}\n  {{- end }}\n  c: "{{ .Z }}-{{ .W }}"\n'),
    ).toBe('a:\n  b: PLACEHOLDER_1\n  c: "PLACEHOLDER_2-PLACEHOLDER_3"\n');
    const dir = mkdtempSync(path.join(tmpdir(), 'l7mp-chart-'));
    try {
      const broken = path.join(dir, 'broken-template.yaml');
      writeFileSync(broken, 'a: b\n  c: {{ .X }}\n- d\n');
      expect(() => templateDocuments(broken)).toThrow(/broken-template\.yaml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('l7mp-operator', () => {
    const manifests = templateDocuments(
      path.join(CHARTS_DIR, 'l7mp-operator', 'templates', 'deployment.yaml'),
    );
    const deployment = only(manifests, 'Deployment');
    const spec = podSpec(deployment);
    const container = spec.containers[0] as Container;

    it('runs the operator with the chart values as flags, its own identity from the downward API', () => {
      expect(deployment.apiVersion).toBe('apps/v1');
      const flags = container.args.map((arg) => arg.split('=')[0]);
      expect(flags).toEqual(
        expect.arrayContaining([
          '--proxy-api-port',
          '--resync-period',
          '--metrics-port',
          '--log-level',
          '--all-namespaces',
          '--namespace',
          '--leader-election',
          '--leader-election-id',
          '--no-leader-election',
          '--token-file',
        ]),
      );
      expect(
        container.env.map((variable) => [variable.name, variable.valueFrom?.fieldRef?.fieldPath]),
      ).toEqual([
        ['POD_NAME', 'metadata.name'],
        ['POD_NAMESPACE', 'metadata.namespace'],
      ]);
    });

    it('probes /healthz and /readyz on the metrics port', () => {
      expect(container.ports.map((port) => port.name)).toEqual(['metrics']);
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    });

    it('mounts the API token Secret read-only where --token-file points', () => {
      expect(spec.volumes.map((volume) => volume.name)).toEqual(['api-token']);
      expect(container.volumeMounts).toEqual([
        { name: 'api-token', mountPath: '/var/run/secrets/l7mp', readOnly: true },
      ]);
      expect(container.args.some((arg) => arg.startsWith('--token-file=/var/run/secrets/l7mp/'))).toBe(true);
    });

    it('defaults to a non-root, read-only container', () => {
      const values = yamlFile('l7mp-operator', 'values.yaml') as {
        podSecurityContext: { runAsNonRoot: boolean; runAsUser: number };
        securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
        proxy: { apiPort: number };
        leaderElection: { enabled: boolean };
      };
      expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(values.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      expect(values.proxy.apiPort).toBe(1234);
      expect(values.leaderElection.enabled).toBe(true);
    });

    it('binds the ClusterRole per namespace (or cluster-wide) and the Lease Role in its own namespace', () => {
      const rbac = templateDocuments(path.join(CHARTS_DIR, 'l7mp-operator', 'templates', 'rbac.yaml'));
      expect(rbac.map((manifest) => manifest.kind)).toEqual([
        'ClusterRole',
        'ClusterRoleBinding',
        'RoleBinding',
        'Role',
        'RoleBinding',
      ]);
      for (const manifest of rbac) expect(manifest.apiVersion).toBe('rbac.authorization.k8s.io/v1');
      const rules = rbacRules(path.join(CHARTS_DIR, 'l7mp-operator', 'templates', 'rbac.yaml'));
      for (const rule of [...rules.clusterRole, ...rules.role]) {
        // Least privilege: nothing by wildcard, no write to anything but status, events, leases and
        // the programmed annotation of pods (a patch, nothing more).
        expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
        if (rule.verbs.some((verb) => ['create', 'update', 'patch', 'delete'].includes(verb))) {
          for (const resource of rule.resources) {
            expect(resource).toMatch(/\/status$|^events$|^leases$|^pods$/);
            if (resource === 'pods') expect(rule.verbs).toEqual(['patch']);
          }
        }
        expect(rule.verbs).not.toContain('delete');
      }
      expect(rules.role).toEqual([
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
      ]);
    });
  });

  describe('l7mp-ingress', () => {
    const manifests = templateDocuments(path.join(CHARTS_DIR, 'l7mp-ingress', 'templates', 'daemonset.yaml'));
    const daemonSet = only(manifests, 'DaemonSet');
    const spec = podSpec(daemonSet);
    const container = spec.containers[0] as Container;
    const values = yamlFile('l7mp-ingress', 'values.yaml') as {
      hostNetwork: boolean;
      dnsPolicy: string;
      apiPort: number;
      metrics: { port: number };
      podLabels: Record<string, string>;
      apiToken: { secretName: string; secretKey: string };
    };

    it('is a DaemonSet on the host network (by default) running l7mp-ingress', () => {
      expect(daemonSet.apiVersion).toBe('apps/v1');
      expect(spec.hostNetwork).toEqual(expect.stringMatching(/^PLACEHOLDER_/));
      expect(values.hostNetwork).toBe(true);
      expect(values.dnsPolicy).toBe('ClusterFirstWithHostNet');
      expect(values.apiPort).toBe(1234);
      expect(values.metrics.port).toBe(8080);
      // The task1 resources select the gateways by this label.
      expect(values.podLabels).toEqual({ app: 'l7mp-ingress' });
      const flags = container.args.map((arg) => arg.split('=')[0]);
      expect(flags).toEqual(
        expect.arrayContaining([
          '--api-port',
          '--metrics-port',
          '--no-metrics',
          '--token-file',
          '--log-level',
        ]),
      );
      expect(
        container.env.map((variable) => [variable.name, variable.valueFrom?.fieldRef?.fieldPath]),
      ).toEqual([
        ['POD_IP', 'status.podIP'],
        ['POD_NAME', 'metadata.name'],
      ]);
    });

    it('reads the API token from the Secret the operator chart creates, mounted as a file', () => {
      const operatorValues = yamlFile('l7mp-operator', 'values.yaml') as {
        apiToken: { secretName: string; secretKey: string };
      };
      expect(values.apiToken).toMatchObject({
        secretName: operatorValues.apiToken.secretName,
        secretKey: operatorValues.apiToken.secretKey,
      });
      const tokenVolume = spec.volumes.find((volume) => volume.name === 'api-token');
      expect(tokenVolume?.secret?.secretName).toEqual(expect.stringMatching(/^PLACEHOLDER_/));
      expect(container.volumeMounts).toContainEqual({
        name: 'api-token',
        mountPath: '/var/run/secrets/l7mp',
        readOnly: true,
      });
      expect(container.args.some((arg) => arg.startsWith('--token-file=/var/run/secrets/l7mp/'))).toBe(true);
    });

    it('probes /healthz and /readyz on the REST API port', () => {
      expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'api' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'api' });
      expect(container.ports.map((port) => port.name)).toEqual(['api', 'metrics']);
    });
  });
});
