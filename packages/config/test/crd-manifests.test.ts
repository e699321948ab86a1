import { describe, expect, it } from '@jest/globals';
import {
  crdManifestFiles,
  crdManifests,
  crdOpenApiSchema,
  prunedFields,
  structuralSchemaViolations,
  writeCrdManifests,
  type JSONSchemaProps,
} from '@l7mp/config';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const committedDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../crds');

describe('generated CRD manifests', () => {
  it('declares the three namespaced l7mp.io/v1 kinds with their names and short names', () => {
    const summary = crdManifests().map((crd) => ({
      name: crd.metadata.name,
      scope: crd.spec.scope,
      names: crd.spec.names,
      versions: crd.spec.versions.map((v) => [v.name, v.served, v.storage]),
    }));
    expect(summary).toEqual([
      {
        name: 'virtualservices.l7mp.io',
        scope: 'Namespaced',
        names: {
          kind: 'VirtualService',
          listKind: 'VirtualServiceList',
          plural: 'virtualservices',
          singular: 'virtualservice',
          shortNames: ['vsvc'],
        },
        versions: [['v1', true, true]],
      },
      {
        name: 'targets.l7mp.io',
        scope: 'Namespaced',
        names: {
          kind: 'Target',
          listKind: 'TargetList',
          plural: 'targets',
          singular: 'target',
          shortNames: ['tr'],
        },
        versions: [['v1', true, true]],
      },
      {
        name: 'rules.l7mp.io',
        scope: 'Namespaced',
        names: { kind: 'Rule', listKind: 'RuleList', plural: 'rules', singular: 'rule' },
        versions: [['v1', true, true]],
      },
    ]);
  });

  it('has a status subresource and Selector, Accepted, Programmed and Age columns', () => {
    for (const crd of crdManifests()) {
      const version = crd.spec.versions[0];
      expect(version?.subresources).toEqual({ status: {} });
      const columns = version?.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]);
      expect(columns).toEqual(
        expect.arrayContaining([
          ['Selector', '.spec.selector'],
          ['Accepted', '.status.conditions[?(@.type=="Accepted")].status'],
          ['Programmed', '.status.conditions[?(@.type=="Programmed")].status'],
          ['Age', '.metadata.creationTimestamp'],
        ]),
      );
    }
  });

  it.each(crdManifests().map((crd) => [crd.metadata.name, crd] as const))(
    '%s has a structural schema',
    (_, crd) => {
      const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
      expect(schema).toBeDefined();
      expect(structuralSchemaViolations(schema as JSONSchemaProps)).toEqual([]);
    },
  );

  it('renders exclusive keys as required-only junctors', () => {
    const listener = crdOpenApiSchema('VirtualService').properties?.spec?.properties?.listener;
    expect(listener?.oneOf).toEqual([{ required: ['rules'] }, { required: ['rulesRef'] }]);
    const target = crdOpenApiSchema('Target').properties?.spec;
    expect(target?.allOf).toEqual([
      { oneOf: [{ required: ['cluster'] }, { required: ['linkedVirtualService'] }] },
      { not: { required: ['cluster', 'loadbalancer'] } },
    ]);
    expect(crdOpenApiSchema('VirtualService').properties?.spec?.required).toEqual(['selector', 'listener']);
  });

  it('keeps free-form parts (match predicates, rewrite values, status extras) unpruned', () => {
    const rule = crdOpenApiSchema('Rule').properties?.spec?.properties?.rule;
    expect(rule?.properties?.match).toMatchObject({ 'x-kubernetes-preserve-unknown-fields': true });
    expect(rule?.properties?.match?.type).toBeUndefined();
    const rewrite = rule?.properties?.action?.properties?.rewrite?.items;
    expect(rewrite?.properties?.value).toMatchObject({ 'x-kubernetes-preserve-unknown-fields': true });
    expect(crdOpenApiSchema('Rule').properties?.status?.['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });

  it('the committed files are exactly the generated ones', async () => {
    const committed = (await readdir(committedDir)).filter((f) => f.endsWith('.yaml')).sort();
    const fresh = crdManifestFiles();
    expect(committed).toEqual(fresh.map((f) => f.fileName).sort());
    for (const file of fresh) {
      const text = await readFile(path.join(committedDir, file.fileName), 'utf8');
      expect({ file: file.fileName, text }).toEqual({ file: file.fileName, text: file.content });
    }
  });

  it('writes YAML that reads back as the manifests', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'l7mp-crds-'));
    try {
      const written = await writeCrdManifests(path.join(dir, 'out'));
      expect(written.map((p) => path.basename(p))).toEqual([
        'virtualservices.l7mp.io.yaml',
        'targets.l7mp.io.yaml',
        'rules.l7mp.io.yaml',
      ]);
      const back = await Promise.all(written.map(async (p) => parse(await readFile(p, 'utf8')) as unknown));
      expect(back).toEqual(crdManifests());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the structural schema checker', () => {
  it.each<[string, JSONSchemaProps, string]>([
    [
      'an untyped field',
      { type: 'object', properties: { a: {} } },
      'openAPIV3Schema.properties.a: has no type (and does not preserve unknown fields)',
    ],
    [
      'a $ref',
      { type: 'object', properties: { a: { type: 'string', $ref: '#/x' } as JSONSchemaProps } },
      'openAPIV3Schema.properties.a: $ref is not allowed',
    ],
    [
      'properties on a string',
      { type: 'object', properties: { a: { type: 'string', properties: { b: { type: 'string' } } } } },
      'openAPIV3Schema.properties.a: properties on a node of type string',
    ],
    [
      'a typed junctor',
      { type: 'object', properties: { a: { type: 'string' } }, anyOf: [{ type: 'string' }] },
      'openAPIV3Schema.anyOf[0]: "type" is not allowed inside allOf/anyOf/oneOf/not',
    ],
    [
      'a junctor with a property not declared outside',
      { type: 'object', oneOf: [{ properties: { b: {} } }] },
      'openAPIV3Schema.oneOf[0]: property "b" is not specified outside the junctor',
    ],
    [
      'an array without items',
      { type: 'object', properties: { a: { type: 'array' } } },
      'openAPIV3Schema.properties.a: array without items',
    ],
    [
      'a restricted metadata',
      {
        type: 'object',
        properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } },
      },
      'openAPIV3Schema.properties.metadata: only name and generateName may be specified',
    ],
    ['a non-object root', { type: 'string' }, 'openAPIV3Schema: the root must be of type object'],
  ])('finds %s', (_, schema, problem) => {
    expect(structuralSchemaViolations(schema)).toContain(problem);
  });

  it('accepts untyped nodes that preserve unknown fields', () => {
    expect(
      structuralSchemaViolations({
        type: 'object',
        properties: { a: { 'x-kubernetes-preserve-unknown-fields': true } },
      }),
    ).toEqual([]);
  });
});

describe('pruning', () => {
  it('reports the fields the API server would drop, and nothing under metadata', () => {
    const doc = {
      apiVersion: 'l7mp.io/v1',
      kind: 'Target',
      metadata: { name: 'x', annotations: { a: 'b' } },
      spec: {
        selector: { matchLabels: { app: 'x' }, matchNothing: true },
        cluster: {
          spec: { UnixDomainSocket: { filename: '/tmp/s', colour: 'red' } },
          endpoints: [{ spec: { filename: '/tmp/s', extra: 1 } }],
        },
      },
      extraTop: 1,
      status: { anything: { goes: true } },
    };
    expect(prunedFields(doc, crdOpenApiSchema('Target'))).toEqual([
      ['spec', 'selector', 'matchNothing'],
      ['spec', 'cluster', 'spec', 'UnixDomainSocket', 'colour'],
      ['spec', 'cluster', 'endpoints', 0, 'spec', 'extra'],
      ['extraTop'],
    ]);
  });
});
