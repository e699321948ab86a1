import { NotFoundError } from '../errors';
import type { EndpointTarget, SessionMetadata } from '../transport/types';
import type { LoadBalancer } from './types';

export const NO_ENDPOINT_MESSAGE = 'No endpoint in cluster';

/** Throws the anchor's error for an empty cluster. */
export function assertEndpoints(endpoints: readonly EndpointTarget[]): void {
  if (endpoints.length === 0) throw new NotFoundError(NO_ENDPOINT_MESSAGE);
}

/** The first endpoint at or after `start` (cyclically) that is not excluded, else `start`'s. */
export function firstAllowed(
  endpoints: readonly EndpointTarget[],
  start: number,
  exclude: ReadonlySet<string> | undefined,
): EndpointTarget {
  const count = endpoints.length;
  const first = endpoints[start % count] as EndpointTarget;
  if (exclude === undefined || exclude.size === 0) return first;
  for (let i = 0; i < count; i++) {
    const candidate = endpoints[(start + i) % count] as EndpointTarget;
    if (!exclude.has(candidate.name)) return candidate;
  }
  return first;
}

/**
 * `Trivial`: always the first endpoint (the next one when the first just failed). `None` (the
 * anchor's policy of virtual clusters) behaves the same but reports itself as `None`.
 */
export class TrivialLoadBalancer implements LoadBalancer {
  private endpoints: readonly EndpointTarget[] = [];

  constructor(readonly policy: 'Trivial' | 'None' = 'Trivial') {}

  update(endpoints: readonly EndpointTarget[]): void {
    this.endpoints = [...endpoints];
  }

  pick(_metadata: SessionMetadata, exclude?: ReadonlySet<string>): EndpointTarget {
    assertEndpoints(this.endpoints);
    return firstAllowed(this.endpoints, 0, exclude);
  }

  toJSON(): { policy: string } {
    return { policy: this.policy };
  }
}

/** `RoundRobin`: each pick takes the next endpoint in order; weights are not considered. */
export class RoundRobinLoadBalancer implements LoadBalancer {
  readonly policy = 'RoundRobin';
  private endpoints: readonly EndpointTarget[] = [];
  private next = 0;

  update(endpoints: readonly EndpointTarget[]): void {
    this.endpoints = [...endpoints];
    if (this.next >= this.endpoints.length) this.next = 0;
  }

  pick(_metadata: SessionMetadata, exclude?: ReadonlySet<string>): EndpointTarget {
    assertEndpoints(this.endpoints);
    const chosen = firstAllowed(this.endpoints, this.next, exclude);
    this.next = (this.endpoints.indexOf(chosen) + 1) % this.endpoints.length;
    return chosen;
  }

  toJSON(): { policy: string } {
    return { policy: this.policy };
  }
}

/**
 * `LeastConnections`: the endpoint with the fewest open connections relative to its weight
 * (ties go to the earlier endpoint). The cluster reports connections via acquired/released.
 */
export class LeastConnectionsLoadBalancer implements LoadBalancer {
  readonly policy = 'LeastConnections';
  private endpoints: readonly EndpointTarget[] = [];
  private readonly active = new Map<string, number>();

  update(endpoints: readonly EndpointTarget[]): void {
    this.endpoints = [...endpoints];
    const names = new Set(endpoints.map((e) => e.name));
    for (const name of this.active.keys()) if (!names.has(name)) this.active.delete(name);
  }

  pick(_metadata: SessionMetadata, exclude?: ReadonlySet<string>): EndpointTarget {
    assertEndpoints(this.endpoints);
    let best: EndpointTarget | undefined;
    let bestLoad = Infinity;
    for (const endpoint of this.endpoints) {
      if (exclude?.has(endpoint.name) === true) continue;
      const load = (this.active.get(endpoint.name) ?? 0) / Math.max(endpoint.weight, 1);
      if (load < bestLoad) {
        best = endpoint;
        bestLoad = load;
      }
    }
    return best ?? firstAllowed(this.endpoints, 0, undefined);
  }

  acquired(endpointName: string): void {
    this.active.set(endpointName, (this.active.get(endpointName) ?? 0) + 1);
  }

  released(endpointName: string): void {
    const count = this.active.get(endpointName);
    if (count === undefined) return;
    if (count <= 1) this.active.delete(endpointName);
    else this.active.set(endpointName, count - 1);
  }

  /** Open connections per endpoint name (for dumps and tests). */
  connections(endpointName: string): number {
    return this.active.get(endpointName) ?? 0;
  }

  toJSON(): { policy: string } {
    return { policy: this.policy };
  }
}
