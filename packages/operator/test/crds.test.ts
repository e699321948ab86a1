import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crdManifestFiles } from '@l7mp/config';
import { parse } from 'yaml';
import {
  CHART_CRDS_DIR,
  CrdSyncError,
  GENERATED_CRDS_DIR,
  compareCrdDirs,
  syncCrdDirs,
} from '../scripts/crd-sync';

describe('the CRDs of the l7mp-operator chart', () => {
  it('are byte-for-byte the files @l7mp/config generates (run `npm run sync-crds -w @l7mp/operator`)', async () => {
    expect(await compareCrdDirs(GENERATED_CRDS_DIR, CHART_CRDS_DIR)).toEqual([]);
    const files = crdManifestFiles();
    expect((await readdir(CHART_CRDS_DIR)).sort()).toEqual(files.map((file) => file.fileName).sort());
    for (const file of files) {
      expect(await readFile(path.join(CHART_CRDS_DIR, file.fileName), 'utf8')).toBe(file.content);
    }
  });

  it('are the three l7mp.io/v1 kinds with a status subresource', async () => {
    const kinds: string[] = [];
    for (const name of await readdir(CHART_CRDS_DIR)) {
      const crd = parse(await readFile(path.join(CHART_CRDS_DIR, name), 'utf8')) as {
        apiVersion: string;
        spec: { group: string; names: { kind: string }; versions: { subresources?: { status?: object } }[] };
      };
      expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(crd.spec.group).toBe('l7mp.io');
      expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
      kinds.push(crd.spec.names.kind);
    }
    expect(kinds.sort()).toEqual(['Rule', 'Target', 'VirtualService']);
  });
});

describe('syncCrdDirs', () => {
  let dir: string;
  let source: string;
  let target: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'l7mp-crds-'));
    source = path.join(dir, 'source');
    target = path.join(dir, 'target');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('copies missing files, replaces stale ones and removes extra ones', async () => {
    await syncCrdDirs(GENERATED_CRDS_DIR, source);
    const names = (await readdir(source)).sort();
    const [first, second] = names;
    if (first === undefined || second === undefined) throw new Error('expected generated CRDs');
    await syncCrdDirs(source, target);
    await writeFile(path.join(target, first), 'stale: true\n');
    await rm(path.join(target, second));
    await writeFile(path.join(target, 'old.l7mp.io.yaml'), 'kind: CustomResourceDefinition\n');
    await writeFile(path.join(target, 'README.txt'), 'not a CRD, left alone\n');

    expect(await compareCrdDirs(source, target)).toEqual([
      { fileName: first, problem: 'stale' },
      { fileName: second, problem: 'missing' },
      { fileName: 'old.l7mp.io.yaml', problem: 'extra' },
    ]);
    await syncCrdDirs(source, target);
    expect(await compareCrdDirs(source, target)).toEqual([]);
    expect((await readdir(target)).sort()).toEqual([...names, 'README.txt'].sort());
  });

  it('refuses to empty the chart when there is nothing generated', async () => {
    await expect(syncCrdDirs(path.join(dir, 'nothing-here'), target)).rejects.toThrow(CrdSyncError);
    await expect(syncCrdDirs(path.join(dir, 'nothing-here'), target)).rejects.toThrow(
      /no generated CRD files \(run packages\/config\/scripts\/generate-crds\.ts\)/,
    );
  });
});
