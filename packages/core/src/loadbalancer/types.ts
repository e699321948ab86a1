import type { EndpointTarget, SessionMetadata } from '../transport/types';

/**
 * Picks the endpoint of a cluster for a new session (anchor §3). The cluster calls `update`
 * whenever its endpoints change, `pick` once per connect attempt, and, for policies that count
 * connections, `acquired`/`released` around the life of each connection.
 */
export interface LoadBalancer {
  readonly policy: string;
  update(endpoints: readonly EndpointTarget[]): void;
  /**
   * Chooses an endpoint. `exclude` names endpoints that just failed for this session: another
   * one is picked if there is one, else any. Throws NotFoundError when there are no endpoints.
   */
  pick(metadata: SessionMetadata, exclude?: ReadonlySet<string>): EndpointTarget;
  acquired?(endpointName: string): void;
  released?(endpointName: string): void;
  toJSON(): { policy: string; key?: string };
}
