import {
  dumpCluster as dumpFlatCluster,
  dumpEndpoint as dumpFlatEndpoint,
  dumpListener as dumpFlatListener,
  dumpRoute as dumpFlatRoute,
  dumpRule as dumpFlatRule,
  dumpRuleList as dumpFlatRuleList,
  type ClusterDump,
  type EndpointDump,
  type FlatCluster,
  type FlatConfig,
  type FlatEndpoint,
  type FlatListener,
  type FlatLookup,
  type FlatRule,
  type FlatRuleList,
  type ListenerDump,
  type RouteDump,
  type RuleDump,
  type RuleListDump,
} from '@l7mp/config';
import type {
  ClusterEntry,
  EndpointEntry,
  ListenerEntry,
  ObjectStore,
  RouteEntry,
  RuleEntry,
  RuleListEntry,
} from './entries';

/**
 * Anchor-shaped dumps (anchor §1.3-§1.7) of the objects in a store, produced by the config
 * package's dump functions over flat views of the entries, so GET responses and config dumps
 * have one definition.
 */

export interface DumpOptions {
  recursive?: boolean;
}

export function flatEndpoint(endpoint: EndpointEntry): FlatEndpoint {
  return {
    name: endpoint.name,
    spec: endpoint.target.spec as FlatEndpoint['spec'],
    weight: endpoint.target.weight,
    generated: endpoint.generated,
  };
}

export function flatCluster(cluster: ClusterEntry): FlatCluster {
  return {
    name: cluster.name,
    spec: cluster.spec,
    endpoints: [...cluster.endpoints.values()].map(flatEndpoint),
    ...(cluster.loadbalancerSpec !== undefined ? { loadbalancer: cluster.loadbalancerSpec } : {}),
    generated: cluster.generated,
  };
}

export function flatListener(listener: ListenerEntry): FlatListener {
  return {
    name: listener.name,
    spec: listener.spec,
    rules: listener.rules,
    options: { ...listener.options },
    generated: listener.generated,
  };
}

export function flatRule(rule: RuleEntry): FlatRule {
  return {
    name: rule.name,
    ...(rule.match !== undefined ? { match: rule.match } : {}),
    action: rule.action,
    generated: rule.generated,
  };
}

export function flatRuleList(rulelist: RuleListEntry): FlatRuleList {
  return { name: rulelist.name, rules: [...rulelist.rules], generated: rulelist.generated };
}

/** Resolves references for recursive dumps against the live store. */
export function storeLookup(store: ObjectStore): FlatLookup {
  return {
    cluster: (name) => {
      const entry = store.clusters.get(name);
      return entry === undefined ? undefined : flatCluster(entry);
    },
    rulelist: (name) => {
      const entry = store.rulelists.get(name);
      return entry === undefined ? undefined : flatRuleList(entry);
    },
    rule: (name) => {
      const entry = store.rules.get(name);
      return entry === undefined ? undefined : flatRule(entry);
    },
    route: (name) => store.routes.get(name),
  };
}

export function flatConfig(store: ObjectStore): FlatConfig {
  return {
    admin: { ...store.admin },
    listeners: [...store.listeners.values()].map(flatListener),
    clusters: [...store.clusters.values()].map(flatCluster),
    rulelists: [...store.rulelists.values()].map(flatRuleList),
    rules: [...store.rules.values()].map(flatRule),
    routes: [...store.routes.values()],
  };
}

const withLookup = (store: ObjectStore, options: DumpOptions) => ({
  recursive: options.recursive === true,
  lookup: storeLookup(store),
});

export const dumpEndpoint = (endpoint: EndpointEntry): EndpointDump =>
  dumpFlatEndpoint(flatEndpoint(endpoint));

export const dumpCluster = (
  store: ObjectStore,
  cluster: ClusterEntry,
  options: DumpOptions = {},
): ClusterDump => dumpFlatCluster(flatCluster(cluster), withLookup(store, options));

export const dumpListener = (
  store: ObjectStore,
  listener: ListenerEntry,
  options: DumpOptions = {},
): ListenerDump => dumpFlatListener(flatListener(listener), withLookup(store, options));

export const dumpRuleList = (
  store: ObjectStore,
  rulelist: RuleListEntry,
  options: DumpOptions = {},
): RuleListDump => dumpFlatRuleList(flatRuleList(rulelist), withLookup(store, options));

export const dumpRule = (store: ObjectStore, rule: RuleEntry, options: DumpOptions = {}): RuleDump =>
  dumpFlatRule(flatRule(rule), withLookup(store, options));

export const dumpRoute = (store: ObjectStore, route: RouteEntry, options: DumpOptions = {}): RouteDump =>
  dumpFlatRoute(route, withLookup(store, options));
