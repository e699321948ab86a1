import type {
  Admin,
  ClusterSpec,
  FlatAction,
  FlatRoute,
  ListenerSpec,
  LoadBalancer as LoadBalancerSpec,
  Predicate,
} from '@l7mp/config';
import type { LoadBalancer } from '../loadbalancer/types';
import { TrafficStats } from '../metrics/stats';
import type { CompiledPredicate } from '../rules/predicate';
import type { ClusterTransport, EndpointTarget, ListenerTransport } from '../transport/types';

/** A listener as the store holds it: its config plus the running transport. */
export interface ListenerEntry {
  readonly name: string;
  readonly spec: ListenerSpec;
  /** Name of the RuleList, resolved at each session (late binding). */
  readonly rules: string;
  readonly options: { track: number };
  readonly generated: boolean;
  readonly transport: ListenerTransport;
  readonly stats: TrafficStats;
}

export interface EndpointEntry {
  readonly name: string;
  readonly cluster: string;
  readonly generated: boolean;
  /** What the load balancer and the transport see; spec and weight live here. */
  readonly target: EndpointTarget;
  readonly stats: TrafficStats;
}

export interface ClusterEntry {
  readonly name: string;
  readonly spec: ClusterSpec;
  readonly loadbalancerSpec: LoadBalancerSpec | undefined;
  readonly generated: boolean;
  readonly transport: ClusterTransport;
  readonly balancer: LoadBalancer;
  /** In insertion order, which the Trivial policy depends on. */
  readonly endpoints: Map<string, EndpointEntry>;
  readonly stats: TrafficStats;
}

export interface RuleListEntry {
  readonly name: string;
  /** Rule names; mutable so rules can be inserted and removed by position. */
  readonly rules: string[];
  readonly generated: boolean;
}

export interface RuleEntry {
  readonly name: string;
  readonly match: Predicate | undefined;
  readonly action: FlatAction;
  readonly generated: boolean;
  readonly test: CompiledPredicate;
  /** How many sessions this rule matched (anchor `stats.total_applied`). */
  applied: number;
}

export type RouteEntry = FlatRoute;

export interface StoreSnapshot {
  readonly listeners: ReadonlyMap<string, ListenerEntry>;
  readonly clusters: ReadonlyMap<string, ClusterEntry>;
  readonly endpoints: ReadonlyMap<string, EndpointEntry>;
  readonly rulelists: ReadonlyMap<string, RuleListEntry>;
  readonly rules: ReadonlyMap<string, RuleEntry>;
  readonly routes: ReadonlyMap<string, RouteEntry>;
  readonly admin: Admin;
}

/** Every named object of a proxy, each kind in its own namespace. */
export class ObjectStore {
  readonly listeners = new Map<string, ListenerEntry>();
  readonly clusters = new Map<string, ClusterEntry>();
  /** Endpoint names are unique across clusters; the value names the owning cluster. */
  readonly endpoints = new Map<string, EndpointEntry>();
  readonly rulelists = new Map<string, RuleListEntry>();
  readonly rules = new Map<string, RuleEntry>();
  readonly routes = new Map<string, RouteEntry>();
  admin: Admin = {};

  /** Copies of the maps (not the entries), so a failed multi-object change can be undone. */
  snapshot(): StoreSnapshot {
    return {
      listeners: new Map(this.listeners),
      clusters: new Map(
        [...this.clusters].map(([name, c]) => [name, { ...c, endpoints: new Map(c.endpoints) }]),
      ),
      endpoints: new Map(this.endpoints),
      rulelists: new Map([...this.rulelists].map(([name, rl]) => [name, { ...rl, rules: [...rl.rules] }])),
      rules: new Map(this.rules),
      routes: new Map(this.routes),
      admin: { ...this.admin },
    };
  }

  restore(snapshot: StoreSnapshot): void {
    const put = <V>(target: Map<string, V>, source: ReadonlyMap<string, V>) => {
      target.clear();
      for (const [key, value] of source) target.set(key, value);
    };
    put(this.listeners, snapshot.listeners);
    put(this.clusters, snapshot.clusters);
    for (const cluster of this.clusters.values()) refreshBalancer(cluster);
    put(this.endpoints, snapshot.endpoints);
    put(this.rulelists, snapshot.rulelists);
    put(this.rules, snapshot.rules);
    put(this.routes, snapshot.routes);
    this.admin = { ...snapshot.admin };
  }

  has(kind: 'listener' | 'cluster' | 'endpoint' | 'rulelist' | 'rule' | 'route', name: string): boolean {
    switch (kind) {
      case 'listener':
        return this.listeners.has(name);
      case 'cluster':
        return this.clusters.has(name);
      case 'endpoint':
        return this.endpoints.has(name);
      case 'rulelist':
        return this.rulelists.has(name);
      case 'rule':
        return this.rules.has(name);
      case 'route':
        return this.routes.has(name);
    }
  }
}

/** Updates a cluster's load balancer after its endpoint list changed. */
export function refreshBalancer(cluster: ClusterEntry): void {
  const targets: EndpointTarget[] = [];
  for (const endpoint of cluster.endpoints.values()) targets.push(endpoint.target);
  cluster.balancer.update(targets);
}
