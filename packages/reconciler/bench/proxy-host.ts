/**
 * Child process of the convergence benchmark: runs a share of the proxy API instances, so their
 * config work does not share the reconciler's CPU (in a cluster every proxy is its own process).
 * Talks to the parent over the fork IPC channel; see `HostRequest` / `HostReply`.
 */
import { startProxy, type TestProxy } from '../test/support';

export type HostRequest =
  | { id: number; type: 'start'; count: number }
  | { id: number; type: 'clusterPort'; index: number; cluster: string }
  | { id: number; type: 'stop' };

export type HostReply =
  | { id: number; type: 'started'; addresses: string[] }
  | { id: number; type: 'clusterPort'; port: number | undefined }
  | { id: number; type: 'stopped' }
  | { id: number; type: 'error'; message: string };

const proxies: TestProxy[] = [];

async function handle(request: HostRequest): Promise<HostReply> {
  switch (request.type) {
    case 'start': {
      for (let i = 0; i < request.count; i++) proxies.push(await startProxy());
      return { id: request.id, type: 'started', addresses: proxies.map((p) => p.address) };
    }
    case 'clusterPort': {
      const proxy = proxies[request.index];
      if (proxy === undefined) throw new Error(`no proxy #${request.index} in this host`);
      const cluster = (await proxy.config()).clusters.find((c) => c.name === request.cluster);
      return {
        id: request.id,
        type: 'clusterPort',
        port: (cluster?.spec as { port?: number } | undefined)?.port,
      };
    }
    case 'stop': {
      for (const p of proxies.splice(0)) await p.close();
      return { id: request.id, type: 'stopped' };
    }
  }
}

process.on('message', (message: HostRequest) => {
  handle(message).then(
    (reply) => {
      process.send?.(reply);
      if (reply.type === 'stopped') process.disconnect();
    },
    (error: unknown) =>
      process.send?.({
        id: message.id,
        type: 'error',
        message: error instanceof Error ? error.message : String(error),
      }),
  );
});
