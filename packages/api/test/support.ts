import { createProxy, type Proxy, type TransportPlugin } from '@l7mp/core';
import { httpTransport } from '@l7mp/transport-http';
import { wsTransport } from '@l7mp/transport-ws';
import { l7mpControllerPlugin } from '../src/controller';

export interface ApiHarness {
  proxy: Proxy;
  base: string;
  /** Sends a request to the API; `body` strings are sent as they are. */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; json: unknown; text: string }>;
}

/** A proxy with the REST API on an HTTP listener bound to 127.0.0.1 on a free port. */
export async function startApi(
  options: { token?: string; transports?: TransportPlugin[]; strict?: boolean } = {},
): Promise<ApiHarness> {
  const holder: { proxy?: Proxy } = {};
  const controller = l7mpControllerPlugin(() => holder.proxy!, { token: () => options.token });
  const proxy = (holder.proxy = createProxy({
    transports: [httpTransport, wsTransport, controller, ...(options.transports ?? [])],
  }));
  await proxy.applyConfig({
    ...(options.strict === true ? { admin: { strict: true } } : {}),
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
  const address = proxy.listenerAddress('controller-listener') as { address: string; port: number };
  const base = `http://127.0.0.1:${address.port}`;
  const call: ApiHarness['call'] = async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
    }
    const response = await fetch(`${base}${path}`, init);
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json, text };
  };
  return { proxy, base, call };
}
