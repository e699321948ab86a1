import { afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTransportCompliance } from '@l7mp/core/testing';
import { udsTransport } from '@l7mp/transport-uds';

const dir = mkdtempSync(join(tmpdir(), 'l7mp-uds-compliance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function path(bound: { address: string; port: number } | { path: string } | undefined): string {
  if (bound === undefined || !('path' in bound)) throw new Error('UDS listener bound no path');
  return bound.path;
}

for (const mode of ['stream', 'seqpacket', 'dgram'] as const) {
  describeTransportCompliance({
    protocol: 'UnixDomainSocket',
    kind: mode === 'stream' ? 'byte-stream' : 'datagram',
    plugin: udsTransport,
    listenerSpec: () => ({
      protocol: 'UnixDomainSocket',
      filename: join(dir, `${mode}-${counter++}.sock`),
      mode,
    }),
    clusterFor: (bound) => ({
      spec: { protocol: 'UnixDomainSocket', mode },
      endpoint: { name: 'local', spec: { address: path(bound) }, weight: 1 },
    }),
    reportsPeerClose: false,
    supportsHalfClose: mode !== 'dgram',
  });
}
