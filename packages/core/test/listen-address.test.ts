import { afterEach, describe, expect, it } from '@jest/globals';
import type { ListenerSpec } from '@l7mp/config';
import { createProxy, type Proxy } from '../src/proxy';
import type { ListenerTransport, TransportPlugin } from '../src/transport/types';

/** A UDP/JSONSocket stand-in that records the spec its listener was created with. */
function recordingPlugin(seen: ListenerSpec[]): TransportPlugin {
  const listener = (protocol: string) => ({
    protocol,
    create: ({ spec }: { spec: ListenerSpec }): ListenerTransport => {
      seen.push(spec);
      return { kind: 'datagram', start: async () => {}, close: async () => {} };
    },
  });
  return {
    name: 'recording',
    listeners: [listener('UDP'), listener('JSONSocket'), listener('UnixDomainSocket')],
  };
}

describe('listenAddress', () => {
  let proxy: Proxy;
  afterEach(async () => {
    await proxy.close();
  });

  it('binds listeners without an address to it, keeps explicit addresses, and dumps the spec as given', async () => {
    const seen: ListenerSpec[] = [];
    proxy = createProxy({ transports: [recordingPlugin(seen)], listenAddress: '127.7.7.7' });
    await proxy.applyConfig({
      listeners: [
        { name: 'a', spec: { protocol: 'UDP', port: 9001 }, rules: 'x' },
        { name: 'b', spec: { protocol: 'UDP', port: 9002, address: '127.0.0.1' }, rules: 'x' },
        {
          name: 'c',
          spec: { protocol: 'JSONSocket', transport: { protocol: 'UDP', port: 9003 } },
          rules: 'x',
        },
        { name: 'd', spec: { protocol: 'UnixDomainSocket', filename: '/tmp/x.sock' }, rules: 'x' },
      ],
    });
    expect(seen).toEqual([
      { protocol: 'UDP', port: 9001, address: '127.7.7.7' },
      { protocol: 'UDP', port: 9002, address: '127.0.0.1' },
      { protocol: 'JSONSocket', transport: { protocol: 'UDP', port: 9003, address: '127.7.7.7' } },
      { protocol: 'UnixDomainSocket', filename: '/tmp/x.sock' },
    ]);
    expect(proxy.getListener('a').spec).toEqual({ protocol: 'UDP', port: 9001 });
    // A replace with the same document sees no difference although the transport got an address.
    expect((await proxy.replaceConfig(proxy.dumpConfig())).changed).toBe(false);
  });
});
