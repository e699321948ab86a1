import { describe, expect, it } from '@jest/globals';
import { ConfigValidationError, loadConfigFile, normaliseConfig, parseConfig } from '@l7mp/config';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/configs');

describe('config smoke', () => {
  it('loads and normalises the minimal example with anchor auto-names', async () => {
    const flat = normaliseConfig(await loadConfigFile(path.join(examples, 'l7mp-minimal.yaml')));
    expect(flat.listeners[0]?.rules).toBe('controller-listener-RuleList-0');
    expect(flat.routes[0]?.name).toBe('controller-listener-RuleList-0-Rule-0-Route-0');
    expect(flat.routes[0]?.retry).toEqual({ retry_on: 'never', num_retries: 1, timeout: 2000 });
  });

  it('reports a bad port with its path', () => {
    expect(() =>
      parseConfig({ listeners: [{ name: 'a', spec: { protocol: 'UDP', port: 'abc' }, rules: 'x' }] }),
    ).toThrow(
      new ConfigValidationError([
        { path: ['listeners', 0, 'spec', 'port'], message: 'expected an integer 0-65535, got "abc"' },
      ]),
    );
  });
});
