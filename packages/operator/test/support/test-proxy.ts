import { l7mpControllerPlugin } from '@l7mp/api';
import { createProxy, type Proxy } from '@l7mp/core';
import { httpTransport } from '@l7mp/transport-http';
import { udpTransport } from '@l7mp/transport-udp';

export interface TestProxy {
  proxy: Proxy;
  /** `127.0.0.1:<port>` of its REST API, for the pod's `l7mp.io/api-address` annotation. */
  apiAddress: string;
  close(): Promise<void>;
}

/** A real l7mp proxy in this process: the REST API (bearer token required) on a free loopback port. */
export async function startTestProxy(token: string): Promise<TestProxy> {
  const holder: { proxy?: Proxy } = {};
  const controller = l7mpControllerPlugin(
    () => {
      if (holder.proxy === undefined) throw new Error('the proxy is not running yet');
      return holder.proxy;
    },
    { token: () => token },
  );
  const proxy = (holder.proxy = createProxy({ transports: [udpTransport, httpTransport, controller] }));
  await proxy.applyConfig({
    listeners: [
      {
        name: 'controller-listener',
        spec: { protocol: 'HTTP', port: 0, address: '127.0.0.1' },
        rules: [
          {
            action: {
              route: { destination: { name: 'l7mp-controller', spec: { protocol: 'L7mpController' } } },
            },
          },
        ],
      },
    ],
  });
  const bound = proxy.listenerAddress('controller-listener') as { port?: number } | undefined;
  if (bound?.port === undefined) {
    await proxy.close();
    throw new Error('the test proxy has no REST API port');
  }
  return { proxy, apiAddress: `127.0.0.1:${bound.port}`, close: () => proxy.close() };
}
