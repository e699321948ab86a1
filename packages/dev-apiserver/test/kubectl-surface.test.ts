import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { parseDocuments } from '@l7mp/config';
import {
  DevApiServer,
  evaluateJsonPath,
  humanAge,
  parseJsonPath,
  withoutDirectives,
  type ChangeEvent,
} from '../src';

const REPO_ROOT = path.resolve(__dirname, '../../..');
const TASK1 = path.join(REPO_ROOT, 'examples/task1');
const TABLE_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

let server: DevApiServer;
let url: string;
beforeEach(async () => {
  server = new DevApiServer();
  ({ url } = await server.start());
});
afterEach(async () => {
  await server.stop();
});

const seed = () =>
  readdirSync(TASK1)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseDocuments(readFileSync(path.join(TASK1, f), 'utf8')) as Record<string, unknown>[]);

interface Table {
  kind: string;
  columnDefinitions: { name: string; type: string }[];
  rows: { cells: unknown[]; object: { metadata: { name: string } } }[];
}

describe('what kubectl needs', () => {
  it('serves /openapi/v2 as protobuf to kubectl and as JSON otherwise', async () => {
    const proto = await fetch(`${url}/openapi/v2`, {
      headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' },
    });
    expect(proto.status).toBe(200);
    // Go's mime parser rejects '@' in a content type, so the dotted form is answered.
    expect(proto.headers.get('content-type')).toBe(
      'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
    );
    const bytes = Buffer.from(await proto.arrayBuffer());
    // Field 1 (swagger), length 3, "2.0"; then field 2 (info).
    expect([...bytes.subarray(0, 5)]).toEqual([0x0a, 3, ...Buffer.from('2.0')]);
    expect(bytes[5]).toBe(0x12);
    expect(bytes.includes(Buffer.from('l7mp dev-apiserver'))).toBe(true);
    const json = (await (await fetch(`${url}/openapi/v2`)).json()) as Record<string, unknown>;
    expect(json).toMatchObject({ swagger: '2.0', definitions: {} });
  });

  it('answers kubectl get with a Table of the CRD printer columns, status included', async () => {
    for (const m of seed()) server.create('l7mp.io/v1', `${String(m.kind).toLowerCase()}s`, m);
    server.patch(
      'l7mp.io/v1',
      'targets',
      'default',
      'udp-cluster',
      {
        status: {
          conditions: [
            { type: 'Accepted', status: 'True', message: 'ok' },
            { type: 'Programmed', status: 'False', message: '0/1 proxies programmed' },
          ],
        },
      },
      'status',
    );
    const res = await fetch(`${url}/apis/l7mp.io/v1/namespaces/default/targets`, {
      headers: { accept: TABLE_ACCEPT },
    });
    const table = (await res.json()) as Table;
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((c) => c.name)).toEqual([
      'Name',
      'Selector',
      'Accepted',
      'Programmed',
      'Message',
      'Age',
    ]);
    const udp = table.rows.find((r) => r.object.metadata.name === 'udp-cluster');
    expect(udp?.cells.slice(0, 5)).toEqual([
      'udp-cluster',
      '{"matchExpressions":[{"key":"app","operator":"In","values":["l7mp-ingress"]}]}',
      'True',
      'False',
      '0/1 proxies programmed',
    ]);
    expect(udp?.cells[5]).toMatch(/^\d+s$/);
    // Without status the condition cells are empty, as kubectl prints them.
    expect(table.rows.find((r) => r.object.metadata.name === 'ws-svc')?.cells[2]).toBeNull();
    // One object: a one-row table. Plain JSON clients still get the object.
    const one = (await (
      await fetch(`${url}/apis/l7mp.io/v1/namespaces/default/virtualservices/gateway-vsvc`, {
        headers: { accept: TABLE_ACCEPT },
      })
    ).json()) as Table;
    expect(one.rows.map((r) => r.cells[0])).toEqual(['gateway-vsvc']);
    const plain = (await (
      await fetch(`${url}/apis/l7mp.io/v1/namespaces/default/virtualservices/gateway-vsvc`)
    ).json()) as Record<string, unknown>;
    expect(plain.kind).toBe('VirtualService');
  });

  it('prints pods with readiness, phase and IP, and other kinds with Name and Age', async () => {
    server.create('v1', 'pods', {
      metadata: { name: 'w', labels: { app: 'worker' } },
      spec: { containers: [{ name: 'echo' }, { name: 'sidecar' }] },
      status: {
        phase: 'Running',
        podIP: '127.0.0.13',
        containerStatuses: [{ ready: true, restartCount: 2 }],
      },
    });
    server.create('v1', 'configmaps', { metadata: { name: 'c' }, data: {} });
    const get = async (p: string) =>
      (await (await fetch(`${url}${p}`, { headers: { accept: TABLE_ACCEPT } })).json()) as Table;
    const pods = await get('/api/v1/namespaces/default/pods');
    expect(pods.columnDefinitions.map((c) => c.name)).toEqual([
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
      'IP',
    ]);
    expect(pods.rows[0]?.cells).toEqual([
      'w',
      '1/2',
      'Running',
      2,
      expect.stringMatching(/s$/),
      '127.0.0.13',
    ]);
    const cms = await get('/api/v1/namespaces/default/configmaps');
    expect(cms.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Age']);
  });

  it('rejects a CRD printer column it cannot evaluate with 400 on get', async () => {
    server.create('apiextensions.k8s.io/v1', 'customresourcedefinitions', {
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            additionalPrinterColumns: [{ name: 'X', type: 'string', jsonPath: '.spec..deep' }],
          },
        ],
      },
    });
    server.create('example.com/v1', 'widgets', { metadata: { name: 'w' }, spec: {} });
    const res = await fetch(`${url}/apis/example.com/v1/namespaces/default/widgets`, {
      headers: { accept: TABLE_ACCEPT },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/unsupported JSONPath/);
  });

  it('applies a strategic merge patch as a merge patch without its $ directives', async () => {
    server.create('v1', 'pods', { metadata: { name: 'p', labels: { a: '1' } }, spec: { containers: [] } });
    const res = await fetch(`${url}/api/v1/namespaces/default/pods/p`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
      body: JSON.stringify({
        metadata: { labels: { b: '2' } },
        spec: { $setElementOrder: [], containers: [{ name: 'x', $patch: 'merge' }] },
      }),
    });
    expect(res.status).toBe(200);
    const pod = server.get('v1', 'pods', 'default', 'p') as {
      metadata: { labels: Record<string, string> };
      spec: Record<string, unknown>;
    };
    expect(pod.metadata.labels).toEqual({ a: '1', b: '2' });
    expect(pod.spec).toEqual({ containers: [{ name: 'x' }] });
    expect(withoutDirectives([{ $x: 1, y: 2 }])).toEqual([{ y: 2 }]);
  });

  it('tells in-process subscribers about every change, in order, until they unsubscribe', () => {
    const seen: ChangeEvent[] = [];
    const unsubscribe = server.subscribe((e) => seen.push(e));
    server.subscribe(() => {
      throw new Error('a broken subscriber');
    });
    server.create('v1', 'pods', { metadata: { name: 'p' } });
    server.patch('v1', 'pods', 'default', 'p', { status: { phase: 'Running' } }, 'status');
    server.delete('v1', 'pods', 'default', 'p');
    expect(seen.map((e) => `${e.type} ${e.apiVersion} ${e.plural}`)).toEqual([
      'ADDED v1 pods',
      'MODIFIED v1 pods',
      'DELETED v1 pods',
    ]);
    expect((seen[1]?.object.status as { phase: string }).phase).toBe('Running');
    unsubscribe();
    server.create('v1', 'pods', { metadata: { name: 'q' } });
    expect(seen).toHaveLength(3);
  });

  it('evaluates the JSONPath subset of printer columns and formats ages like kubectl', () => {
    const obj = {
      status: {
        conditions: [
          { type: 'A', status: 'x' },
          { type: 'B', status: 'y' },
        ],
      },
      l: [1, 2],
    };
    expect(evaluateJsonPath(parseJsonPath('.status.conditions[?(@.type=="B")].status'), obj)).toEqual(['y']);
    expect(evaluateJsonPath(parseJsonPath('{.l[1]}'), obj)).toEqual([2]);
    expect(evaluateJsonPath(parseJsonPath('.missing.x'), obj)).toEqual([]);
    expect(() => parseJsonPath('.a[*]')).toThrow(/unsupported JSONPath/);
    const now = Date.parse('2026-01-10T00:00:00Z');
    const ago = (s: number) => new Date(now - s * 1000).toISOString();
    expect(
      [30, 150, 600, 3600 * 3, 3600 * 5 + 60, 3600 * 30, 3600 * 50, 86400 * 30].map((s) =>
        humanAge(ago(s), now),
      ),
    ).toEqual(['30s', '2m30s', '10m', '3h', '5h1m', '30h', '2d2h', '30d']);
    expect(humanAge('not a date', now)).toBe('<unknown>');
  });
});

// Real kubectl (CI installs Debian's 1.20 when none is on PATH; KUBECTL picks another binary).
const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const kubectlRuns = (): Promise<boolean> =>
  new Promise((resolve) => execFile(KUBECTL, ['version', '--client'], (error) => resolve(error === null)));

describe('kubectl against the dev API server', () => {
  it('applies the seed CRs, gets them with printer columns, re-applies a change and deletes', async () => {
    if (!(await kubectlRuns())) {
      process.stdout.write(`SKIPPED: ${KUBECTL} is not installed (CI installs Debian's kubernetes-client)\n`);
      return;
    }
    const cache = await mkdtemp(path.join(tmpdir(), 'kubectl-cache-'));
    const kubectl = (args: string[], stdin?: string) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile(
          KUBECTL,
          ['--server', url, '--cache-dir', cache, ...args],
          { timeout: 15_000 },
          (error, stdout, stderr) =>
            error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`)),
        );
        if (stdin !== undefined) child.stdin?.end(stdin);
      });
    try {
      expect(await kubectl(['apply', '-f', TASK1])).toMatch(/target.l7mp.io\/udp-cluster created/);
      const stored = server.get('l7mp.io/v1', 'targets', 'default', 'udp-cluster') as {
        metadata: { annotations: Record<string, string> };
      };
      expect(stored.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain(
        'udp-cluster',
      );
      const listing = await kubectl(['get', 'vsvc,targets,rules']);
      expect(listing).toMatch(/SELECTOR\s+ACCEPTED\s+PROGRAMMED\s+AGE/);
      expect(listing).toMatch(/virtualservice.l7mp.io\/gateway-vsvc/);
      expect(listing).toMatch(/target.l7mp.io\/ws-svc/);
      expect(await kubectl(['apply', '-f', path.join(TASK1, 'udp-cluster.yaml')])).toMatch(/unchanged/);
      const changed = readFileSync(path.join(TASK1, 'udp-cluster.yaml'), 'utf8').replace(
        'ConsistentHash',
        'Trivial',
      );
      expect(await kubectl(['apply', '-f', '-'], changed)).toMatch(/configured/);
      const target = server.get('l7mp.io/v1', 'targets', 'default', 'udp-cluster') as {
        spec: { cluster: { loadbalancer: { policy: string } } };
      };
      expect(target.spec.cluster.loadbalancer.policy).toBe('Trivial');
      expect(await kubectl(['delete', 'vsvc', 'gateway-vsvc'])).toMatch(/deleted/);
      expect(server.get('l7mp.io/v1', 'virtualservices', 'default', 'gateway-vsvc')).toBeUndefined();
      await expect(kubectl(['get', 'vsvc', 'gateway-vsvc'])).rejects.toThrow(/NotFound|not found/);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  }, 60_000);
});
