import type { ConfigDocument } from '@l7mp/config';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export interface ApiEndpoint {
  listener: string;
  address: string | undefined;
  port: number;
}

/** HTTP listeners whose rules route to an L7mpController cluster: where the REST API is served. */
export function apiListeners(config: ConfigDocument): ApiEndpoint[] {
  const clusters = new Map((config.clusters ?? []).map((c) => [c.name, c]));
  const controllerRoutes = new Set(
    (config.routes ?? [])
      .filter(
        (r) =>
          typeof r.destination === 'string' &&
          clusters.get(r.destination)?.spec.protocol === 'L7mpController',
      )
      .map((r) => r.name),
  );
  const controllerRules = new Set(
    (config.rules ?? [])
      .filter((r) => typeof r.action.route === 'string' && controllerRoutes.has(r.action.route))
      .map((r) => r.name),
  );
  const controllerRuleLists = new Set(
    (config.rulelists ?? [])
      .filter((rl) => rl.rules.some((r) => typeof r === 'string' && controllerRules.has(r)))
      .map((rl) => rl.name),
  );
  const result: ApiEndpoint[] = [];
  for (const listener of config.listeners ?? []) {
    if (listener.spec.protocol !== 'HTTP' || typeof listener.rules !== 'string') continue;
    if (!controllerRuleLists.has(listener.rules)) continue;
    result.push({ listener: listener.name, address: listener.spec.address, port: listener.spec.port });
  }
  return result;
}

/** True when the address is not a loopback one (no address means every interface). */
export function isExposed(address: string | undefined): boolean {
  return address === undefined || !LOOPBACK.test(address);
}
