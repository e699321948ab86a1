import { it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUdsListener, UdsCluster } from '@l7mp/transport-uds';
import { AcceptQueue, clusterContext, Recorder } from './helpers';

it('debug', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbg-'));
  const path = join(dir, 'd.sock');
  const accepted = new AcceptQueue();
  const listener = createUdsListener(accepted.context('l', { protocol: 'UnixDomainSocket', filename: path, mode: 'dgram' }));
  await listener.start();
  const uds = new UdsCluster(clusterContext('c', { protocol: 'UnixDomainSocket', mode: 'dgram' }));
  const req = { endpoint: { name: 'e', spec: { address: path }, weight: 1 }, sessionName: 's', metadata: {}, timeoutMs: 1000, signal: new AbortController().signal };
  const client = new Recorder(await uds.connect(req));
  const second = new Recorder(await uds.connect(req));
  for (let i = 0; i < 20; i++) client.conduit.write(Buffer.from(`a${i}`));
  second.conduit.write(Buffer.from('b0'));
  const server = new Recorder((await accepted.next(0)).conduit);
  console.log('got first', server.chunks.length, (listener as unknown as {peers: Map<string, unknown>}).peers.size);
  console.log([...(listener as unknown as {peers: Map<string, unknown>}).peers.keys()], accepted.connections.length); const server2 = new Recorder((await accepted.next(1)).conduit);
  console.log('got second', server2.chunks.map(String));
  await new Promise((r) => setTimeout(r, 300));
  console.log(server.chunks.map(String), client.closed, client.closeError, server.closed, accepted.connections.length);
  client.conduit.destroy(); server.conduit.destroy(); await listener.close();
});
