import { describe, expect, it } from '@jest/globals';
import { mapSocketPath, mergeConfigs, parseAppArgs, sidecarConfig, sidecarRole } from '@l7mp/sidecar';

const io = (env: NodeJS.ProcessEnv) => ({ stdout: () => {}, stderr: () => {}, env });

describe('mergeConfigs', () => {
  it('appends objects, lets same-named ones replace the defaults, and merges admin', () => {
    const base = {
      admin: { log_level: 'info', strict: true },
      listeners: [{ name: 'api', spec: { port: 1 } }],
    };
    const merged = mergeConfigs(base, {
      admin: { log_level: 'debug' },
      listeners: [
        { name: 'api', spec: { port: 2 } },
        { name: 'udp', spec: { port: 3 } },
      ],
      clusters: [{ name: 'c' }],
    });
    expect(merged).toEqual({
      admin: { log_level: 'debug', strict: true },
      listeners: [
        { name: 'api', spec: { port: 2 } },
        { name: 'udp', spec: { port: 3 } },
      ],
      clusters: [{ name: 'c' }],
    });
  });

  it('keeps the defaults when the extra config is empty or not an object', () => {
    const base = sidecarConfig('10.0.0.1');
    expect(mergeConfigs(base, undefined)).toBe(base);
    expect(mergeConfigs(base, [])).toBe(base);
  });
});

describe('mapSocketPath', () => {
  it('moves absolute paths into the directory and leaves relative ones alone', () => {
    expect(mapSocketPath('/tmp/uds-echo.sock', '/run/pod-1')).toBe('/run/pod-1/uds-echo.sock');
    expect(mapSocketPath('uds-echo.sock', '/run/pod-1')).toBe('uds-echo.sock');
  });
});

describe('the sidecar command line', () => {
  it('binds the API to POD_IP, or 127.0.0.1 without it, on port 1234', () => {
    expect(parseAppArgs(sidecarRole, [], io({ POD_IP: '10.1.2.3', POD_NAME: 'p-1' }))).toMatchObject({
      apiAddress: '10.1.2.3',
      apiPort: 1234,
      podName: 'p-1',
    });
    expect(parseAppArgs(sidecarRole, [], io({}))).toMatchObject({ apiAddress: '127.0.0.1', apiPort: 1234 });
    expect(parseAppArgs(sidecarRole, ['--api-address', '::1'], io({ POD_IP: '10.1.2.3' }))).toMatchObject({
      apiAddress: '::1',
    });
  });
});
