import { pino, type Logger } from 'pino';
import { createProxy, type Proxy } from '../../src/proxy';
import type { ProxyEventMap, ProxyEventName } from '../../src/proxy-events';
import { TestNetwork } from './pair-transport';

export interface Harness {
  proxy: Proxy;
  net: TestNetwork;
  warnings: string[];
}

/** A logger that keeps warn-and-above messages for assertions. */
export function capturingLogger(warnings: string[]): Logger {
  return pino(
    { level: 'warn' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string };
        warnings.push(entry.msg ?? '');
      },
    },
  );
}

export function harness(): Harness {
  const net = new TestNetwork();
  const warnings: string[] = [];
  const proxy = createProxy({ transports: [net.plugin], logger: capturingLogger(warnings) });
  return { proxy, net, warnings };
}

/** Resolves with the arguments of the next `event` that passes `filter` (fails after 5 s). */
export function nextEvent<E extends ProxyEventName>(
  proxy: Proxy,
  event: E,
  filter: (...args: ProxyEventMap[E]) => boolean = () => true,
): Promise<ProxyEventMap[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proxy.off(event, callback);
      reject(new Error(`timed out waiting for ${event}`));
    }, 5000);
    const callback = (...args: ProxyEventMap[E]): void => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      proxy.off(event, callback);
      resolve(args);
    };
    proxy.on(event, callback);
  });
}

/** A Test cluster over the given endpoint addresses. */
export function testCluster(name: string, addresses: string[], extra: Record<string, unknown> = {}): unknown {
  return {
    name,
    spec: { protocol: 'Test', ...extra },
    endpoints: addresses.map((address) => ({ name: `${name}-${address}`, spec: { address } })),
  };
}

/** A Test listener routing everything to `destination` with the given retry policy. */
export function testListener(
  name: string,
  destination: unknown,
  route: Record<string, unknown> = {},
  spec: Record<string, unknown> = {},
): unknown {
  return {
    name,
    spec: { protocol: 'Test', ...spec },
    rules: [{ action: { route: { destination, ...route } } }],
  };
}
