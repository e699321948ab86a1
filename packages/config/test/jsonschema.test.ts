import { describe, expect, it } from '@jest/globals';
import {
  CONFIG_JSON_SCHEMA_ID,
  configJsonSchema,
  loadConfigFile,
  parseAndNormaliseConfig,
  parseDocument,
  writeConfigJsonSchema,
} from '@l7mp/config';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateAgainst } from './helpers/mini-json-schema';

const examples = path.resolve(__dirname, '../../../examples/configs');
type Schema = Record<string, unknown>;
const at = (schema: unknown, ...keys: (string | number)[]): Schema => {
  let node: unknown = schema;
  for (const key of keys) node = (node as Record<string | number, unknown>)[key];
  return node as Schema;
};

describe('configJsonSchema', () => {
  const schema = configJsonSchema();

  it('is a draft 2020-12 object schema with the top-level config keys', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(CONFIG_JSON_SCHEMA_ID);
    expect(schema.type).toBe('object');
    expect(Object.keys(at(schema, 'properties'))).toEqual(
      expect.arrayContaining(['admin', 'listeners', 'clusters', 'rulelists', 'rules', 'routes']),
    );
    expect(at(schema, 'properties', 'listeners').type).toBe('array');
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it('constrains listener ports to 0..65535 and documents both protocol spellings', () => {
    // Objects used in many places are defined once in $defs and referred to.
    expect(at(schema, 'properties', 'listeners', 'items')).toMatchObject({ $ref: '#/$defs/Listener' });
    expect(at(schema, '$defs', 'Listener', 'properties', 'spec')).toEqual({ $ref: '#/$defs/ListenerSpec' });
    const variants = at(schema, '$defs', 'ListenerSpec', 'oneOf') as unknown as Schema[];
    const udp = variants.find((v) => at(v, 'properties', 'protocol')?.const === 'UDP');
    expect(at(udp, 'properties', 'port')).toMatchObject({ type: 'integer', minimum: 0, maximum: 65535 });
    expect(udp?.required).toEqual(['protocol', 'port']);
    const crd = variants.find((v) => Array.isArray(v.required) && v.required[0] === 'UDP');
    expect(crd).toMatchObject({ additionalProperties: false, properties: { UDP: { required: ['port'] } } });
  });

  it('describes rule matches as recursive json-predicates', () => {
    expect(at(schema, '$defs', 'Predicate', 'properties', 'apply', 'items')).toEqual({
      $ref: '#/$defs/Predicate',
    });
  });

  it('accepts every example config and rejects broken ones', async () => {
    const files = (await readdir(examples)).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const file of files) {
      const doc = parseDocument(await readFile(path.join(examples, file), 'utf8'), 'yaml', file);
      expect({ file, errors: validateAgainst(schema, doc) }).toEqual({ file, errors: [] });
    }
    const bad = {
      listeners: [{ name: 'l', spec: { protocol: 'UDP', port: 70000 }, rules: 'r' }],
      clusters: [{ name: 'c', spec: { UDP: {} } }],
    };
    expect(validateAgainst(schema, bad)).toEqual(
      expect.arrayContaining([
        '/listeners/0/spec: not exactly one oneOf branch matches',
        '/clusters/0/spec: not exactly one oneOf branch matches',
      ]),
    );
    expect(
      validateAgainst(schema, {
        rules: [{ name: 'r', match: { op: 'and', apply: [{ op: 'nope' }] }, action: { route: 'x' } }],
      }),
    ).not.toEqual([]);
  });

  it('writes the schema to a file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'l7mp-schema-'));
    try {
      const file = path.join(dir, 'sub', 'config.schema.json');
      await writeConfigJsonSchema(file);
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(schema);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('example configs', () => {
  it('load, validate and normalise', async () => {
    const files = (await readdir(examples)).filter((f) => f.endsWith('.yaml'));
    for (const file of files) {
      const config = await loadConfigFile(path.join(examples, file));
      expect(() => parseAndNormaliseConfig(config)).not.toThrow();
    }
    const bridge = await loadConfigFile(path.join(examples, 'l7mp-tcp-uds-bridge.yaml'));
    expect(bridge.clusters[0]?.spec).toEqual({ protocol: 'UnixDomainSocket', mode: 'seqpacket' });
    expect(bridge.listeners[0]?.spec).toMatchObject({ framing: 'length-prefixed' });
  });
});
