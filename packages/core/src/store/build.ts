import type { ConfigIssue, FlatCluster, FlatConfig, FlatEndpoint, FlatRule } from '@l7mp/config';
import { BadRequestError } from '../errors';
import { createLoadBalancer } from '../loadbalancer/index';
import type { Logger } from '../logger';
import { TrafficStats } from '../metrics/stats';
import type { TransportRegistry } from '../registry';
import { compilePredicate } from '../rules/predicate';
import type { ClusterEntry, EndpointEntry, RuleEntry } from './entries';
import type { Registry } from 'prom-client';

/** Protocols whose endpoints must name a host (anchor §1.5). */
const NEEDS_ADDRESS = new Set(['UDP', 'TCP', 'WebSocket', 'JSONSocket']);

/** Problems that only the proxy can see: protocols nobody registered. Paths name the object. */
export function protocolIssues(fragment: FlatConfig, registry: TransportRegistry): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const listener of fragment.listeners) {
    const problem = registry.listenerProblem(listener.spec.protocol);
    if (problem !== undefined) {
      issues.push({ path: ['listeners', listener.name, 'spec', 'protocol'], message: problem });
    }
  }
  for (const cluster of fragment.clusters) {
    const problem = registry.clusterProblem(cluster.spec.protocol);
    if (problem !== undefined) {
      issues.push({ path: ['clusters', cluster.name, 'spec', 'protocol'], message: problem });
    }
  }
  return issues;
}

/** Why an endpoint cannot be added to a cluster of this spec, if it cannot. */
export function endpointProblem(
  cluster: Pick<FlatCluster, 'spec' | 'name'>,
  endpoint: Pick<FlatEndpoint, 'spec'>,
): string | undefined {
  if (endpoint.spec.address !== undefined) return undefined;
  const protocol = cluster.spec.protocol;
  if (NEEDS_ADDRESS.has(protocol)) return `an endpoint of a ${protocol} cluster needs an address`;
  if (protocol === 'UnixDomainSocket' && cluster.spec.filename === undefined) {
    return 'an endpoint of a UnixDomainSocket cluster needs a socket path (address or filename)';
  }
  return undefined;
}

export function createEndpointEntry(cluster: string, flat: FlatEndpoint): EndpointEntry {
  return {
    name: flat.name,
    cluster,
    generated: flat.generated,
    target: { name: flat.name, spec: { ...flat.spec }, weight: flat.weight },
    stats: new TrafficStats(),
  };
}

/**
 * Builds a cluster with its transport, load balancer and endpoints without registering
 * anything, so a cluster that cannot be built leaves nothing behind.
 */
export function createClusterEntry(
  flat: FlatCluster,
  registry: TransportRegistry,
  logger: Logger,
  metrics: Registry,
): ClusterEntry {
  const transport = registry.createCluster({
    name: flat.name,
    spec: flat.spec,
    logger: logger.child({ cluster: flat.name }),
    transports: registry,
    metrics,
  });
  if (transport.virtual && flat.endpoints.length > 0) {
    throw new BadRequestError(
      `Adding an endpoint to a cluster of type "${flat.spec.protocol}" is not supported`,
    );
  }
  for (const endpoint of flat.endpoints) {
    const problem = endpointProblem(flat, endpoint);
    if (problem !== undefined)
      throw new BadRequestError(`Endpoint "${endpoint.name}" of cluster "${flat.name}": ${problem}`);
  }
  const balancer = createLoadBalancer(flat.loadbalancer, transport.virtual ? 'None' : 'Trivial');
  const endpoints = new Map<string, EndpointEntry>();
  for (const endpoint of flat.endpoints)
    endpoints.set(endpoint.name, createEndpointEntry(flat.name, endpoint));
  balancer.update([...endpoints.values()].map((e) => e.target));
  return {
    name: flat.name,
    spec: flat.spec,
    loadbalancerSpec: flat.loadbalancer,
    generated: flat.generated,
    transport,
    balancer,
    endpoints,
    stats: new TrafficStats(),
  };
}

export function createRuleEntry(flat: FlatRule): RuleEntry {
  return {
    name: flat.name,
    match: flat.match,
    action: flat.action,
    generated: flat.generated,
    test: compilePredicate(flat.match),
    applied: 0,
  };
}
