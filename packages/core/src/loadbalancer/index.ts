import type { LoadBalancer as LoadBalancerSpec, LoadBalancerPolicy } from '@l7mp/config';
import { BadRequestError } from '../errors';
import { ConsistentHashLoadBalancer } from './consistent-hash';
import { LeastConnectionsLoadBalancer, RoundRobinLoadBalancer, TrivialLoadBalancer } from './simple';
import type { LoadBalancer } from './types';

export type { LoadBalancer } from './types';
export { ConsistentHashLoadBalancer, RANDOM_KEY, VIRTUAL_NODES_PER_WEIGHT, hash32 } from './consistent-hash';
export {
  LeastConnectionsLoadBalancer,
  NO_ENDPOINT_MESSAGE,
  RoundRobinLoadBalancer,
  TrivialLoadBalancer,
} from './simple';

/** Builds the load balancer a cluster's `loadbalancer` spec asks for (default: `defaultPolicy`). */
export function createLoadBalancer(
  spec: LoadBalancerSpec | undefined,
  defaultPolicy: LoadBalancerPolicy = 'Trivial',
): LoadBalancer {
  const policy: string = spec?.policy ?? defaultPolicy;
  switch (policy) {
    case 'Trivial':
    case 'None':
      return new TrivialLoadBalancer(policy);
    case 'ConsistentHash':
    case 'HashRing':
      return new ConsistentHashLoadBalancer(policy, spec?.key);
    case 'RoundRobin':
      return new RoundRobinLoadBalancer();
    case 'LeastConnections':
      return new LeastConnectionsLoadBalancer();
    default:
      throw new BadRequestError(`Load balancer policy "${policy}" is not implemented`);
  }
}
