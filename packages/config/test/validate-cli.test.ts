import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { classifyDocument, runValidateCli, type ConfigIssue } from '@l7mp/config';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../../..');
const bin = 'packages/config/src/bin/l7mp-validate.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real bin as a child process, through tsx so that the TypeScript sources are used. */
function runBin(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', bin, ...args],
      { cwd: repoRoot, timeout: 30000 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === 'number' ? error.code : error ? null : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const goodConfig = `
listeners:
  - name: udp
    spec: { UDP: { port: 9001 } }
    rules:
      - action: { route: { destination: echo } }
clusters:
  - { name: echo, spec: { protocol: Echo } }
`;

const badConfig = JSON.stringify({
  listeners: [
    { name: 'x', spec: { protocol: 'UDP', port: 70000 }, rules: [] },
    { name: 'x', spec: { protocol: 'TCP', port: 1 }, rules: [] },
  ],
  routes: [{ name: 'r', retry: { retry_on: 'sometimes' } }],
});

const multiDocument = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: worker }
---
clusters:
  - { name: ok, spec: { protocol: Echo } }
---
clusters:
  - { name: bad, spec: { protocol: Echo }, endpoints: [{ spec: { address: 1.2.3.4 } }] }
`;

const manifests = `
apiVersion: l7mp.io/v1
kind: Target
metadata:
  name: uds-cluster
spec:
  selector:
    matchExpressions:
      - { key: app, operator: In, values: [transcoder] }
  cluster:
    spec:
      UnixDomainSocket:
        filename: /tmp/uds-echo.sock
    endpoints:
      - spec:
          filename: /tmp/uds-echo.sock
---
apiVersion: l7mp.io/v1
kind: Target
metadata: { name: bad }
spec:
  selector: { matchLabels: { app: x } }
  cluster:
    spec:
      UDP: { port: 0 }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: x }
`;

describe('l7mp-validate (child process)', () => {
  let dir = '';
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'l7mp-validate-'));
    await writeFile(file('good.yaml'), goodConfig);
    await writeFile(file('bad.json'), badConfig);
    await writeFile(file('multi.yaml'), multiDocument);
    await writeFile(file('manifests.yaml'), manifests);
    await writeFile(file('broken.yaml'), 'listeners: [\n');
    await writeFile(file('empty.yaml'), '');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 and says ok for a valid config', async () => {
    const run = await runBin([file('good.yaml')]);
    expect(run).toEqual({ code: 0, stdout: `${file('good.yaml')}: ok\n`, stderr: '' });
  });

  it('prints every problem of a bad config with its path and exits 1', async () => {
    const run = await runBin([file('bad.json'), file('good.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stderr.split('\n').filter(Boolean)).toEqual([
      `${file('bad.json')}: listeners[0].spec.port: expected an integer 0-65535, got 70000`,
      `${file('bad.json')}: routes[0].retry.retry_on: expected one of never, connect-failure, disconnect, always, got "sometimes"`,
      `${file('bad.json')}: routes[0].destination: a route needs a destination (or its alias "cluster")`,
      `${file('bad.json')}: listeners[1].name: Listener "x" already defined`,
    ]);
    expect(run.stdout).toBe(`${file('good.yaml')}: ok\n`);
  });

  it('numbers documents in a multi-document file and skips foreign kinds with a note', async () => {
    const run = await runBin([file('multi.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      `${file('multi.yaml')}: document 1: note: skipped Deployment (apps/v1): neither an l7mp proxy config nor an l7mp.io/v1 VirtualService/Target/Rule\n`,
    );
    expect(run.stderr).toBe(
      `${file('multi.yaml')}: document 3: clusters[0].endpoints: Adding an endpoint to a cluster of type "Echo" is not supported\n`,
    );
  });

  it('validates l7mp.io/v1 manifests with the CRD schemas', async () => {
    const run = await runBin([file('manifests.yaml')]);
    expect(run.code).toBe(1);
    const errors = run.stderr.split('\n').filter(Boolean);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(`^${file('manifests.yaml')}: document 2: spec\\.cluster\\.spec\\.UDP\\.port: `),
    );
    expect(run.stdout).toContain(`${file('manifests.yaml')}: document 3: note: skipped ConfigMap (v1)`);
  });

  it('reports unreadable, unparsable and empty files as errors', async () => {
    const run = await runBin([file('missing.yaml'), file('broken.yaml'), file('empty.yaml')]);
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(new RegExp(`^${file('missing.yaml')}: cannot read file: ENOENT`));
    expect(run.stderr).toContain(
      `${file('broken.yaml')}: invalid YAML in ${file('broken.yaml')}, document 1:`,
    );
    expect(lines[lines.length - 1]).toBe(`${file('empty.yaml')}: no document found (the file is empty)`);
  });

  it.each([
    [[], 'l7mp-validate: no file given'],
    [['--bogus', 'x.yaml'], 'l7mp-validate: unknown option --bogus'],
  ])('exits 2 on a usage error %j', async (args, message) => {
    const run = await runBin(args);
    expect(run.code).toBe(2);
    expect(run.stderr.startsWith(`${message}\nUsage: l7mp-validate`)).toBe(true);
    expect(run.stdout).toBe('');
  });

  it('prints the usage with --help and exits 0', async () => {
    const run = await runBin(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: l7mp-validate \[--help\] FILE\.\.\./);
  });

  it('takes arguments after -- as file names', async () => {
    const run = await runBin(['--', file('good.yaml')]);
    expect(run.code).toBe(0);
  });
});

describe('l7mp.io/v1 manifests', () => {
  const target = { apiVersion: 'l7mp.io/v1', kind: 'Target', metadata: { name: 't' }, spec: {} };

  it('classifies documents by apiVersion and kind', () => {
    expect(classifyDocument(target)).toEqual({ type: 'l7mp-manifest' });
    expect(classifyDocument({ listeners: [] })).toEqual({ type: 'proxy-config' });
    expect(classifyDocument(null)).toEqual({ type: 'proxy-config' });
    expect(classifyDocument({ apiVersion: 'l7mp.io/v1', kind: 'Other' })).toEqual({
      type: 'other',
      label: 'Other (l7mp.io/v1)',
    });
    expect(classifyDocument({ kind: 'ConfigMap' })).toEqual({
      type: 'other',
      label: 'ConfigMap (<no apiVersion>)',
    });
  });

  it('hands l7mp.io/v1 documents to the CRD validator and prints its issues', async () => {
    const seen: unknown[] = [];
    const validator = (doc: unknown): ConfigIssue[] => {
      seen.push(doc);
      return [{ path: ['spec', 'selector'], message: 'bad selector' }];
    };
    const dir = await mkdtemp(path.join(tmpdir(), 'l7mp-validate-crd-'));
    try {
      const f = path.join(dir, 'target.json');
      await writeFile(f, JSON.stringify(target));
      const out: string[] = [];
      const err: string[] = [];
      const status = await runValidateCli(
        [f],
        { stdout: (l) => out.push(l), stderr: (l) => err.push(l) },
        validator,
      );
      expect(status).toBe(1);
      expect(seen).toEqual([target]);
      expect(err).toEqual([`${f}: spec.selector: bad selector`]);
      expect(out).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
