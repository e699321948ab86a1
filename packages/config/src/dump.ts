import {
  NameRegistry,
  type FlatCluster,
  type FlatConfig,
  type FlatEndpoint,
  type FlatListener,
  type FlatRoute,
  type FlatRule,
  type FlatRuleList,
  type ObjectKind,
} from './normalise';
import {
  isVirtualClusterProtocol,
  type Admin,
  type LoadBalancer,
  type Retry,
  type Rewrite,
} from './schema/objects';
import { WILDCARD_MATCH, type Predicate } from './schema/predicate';
import type { ClusterSpec, ListenerSpec } from './schema/protocols';

// ------------------------------------------------------------------ REST dumps (anchor §1.3–§1.7)

/** What a dump shows in place of an object that a reference names but that no longer exists. */
export const staleReference = (name: string): string => `${name}:<STALE>`;

/** The address a virtual cluster's single pseudo-endpoint shows (anchor §2.7). */
export const VIRTUAL_ADDRESS = '<VIRTUAL>';

export interface EndpointDump {
  name: string;
  spec: FlatEndpoint['spec'];
  weight: number;
}
export interface VirtualEndpointDump {
  name: string;
  spec: { address: typeof VIRTUAL_ADDRESS };
}
export interface ClusterDump {
  name: string;
  spec: ClusterSpec;
  /** A count, or with `recursive` the endpoint dumps. */
  endpoints: number | (EndpointDump | VirtualEndpointDump)[];
  loadbalancer: LoadBalancer;
}
export interface RouteDump {
  name: string;
  destination: string | ClusterDump;
  ingress: (string | ClusterDump)[];
  egress: (string | ClusterDump)[];
  retry: Retry;
}
export interface RuleDump {
  name: string;
  match: Predicate | typeof WILDCARD_MATCH;
  action: { rewrite?: Rewrite[]; apply?: string; route?: string | RouteDump };
}
export interface RuleListDump {
  name: string;
  rules: (string | RuleDump)[];
}
export interface ListenerDump {
  name: string;
  spec: ListenerSpec;
  /** The RuleList name, or with `recursive` that RuleList's rules. */
  rules: string | (string | RuleDump)[];
  options: { track: number };
}

/** Resolves names for recursive dumps; an object store implements it over its maps. */
export interface FlatLookup {
  cluster(name: string): FlatCluster | undefined;
  rulelist(name: string): FlatRuleList | undefined;
  rule(name: string): FlatRule | undefined;
  route(name: string): FlatRoute | undefined;
}

export interface DumpOptions {
  /** Expand references into the objects they name (the REST API's `recursive=true`). */
  recursive?: boolean;
  /** Needed with `recursive`; without it every reference stays a name. */
  lookup?: FlatLookup;
}

/** A FlatLookup over a FlatConfig, e.g. for dumping a config that is not loaded into a store. */
export function lookupIn(flat: FlatConfig): FlatLookup {
  const index = <T extends { name: string }>(items: T[]) => new Map(items.map((item) => [item.name, item]));
  const clusters = index(flat.clusters);
  const rulelists = index(flat.rulelists);
  const rules = index(flat.rules);
  const routes = index(flat.routes);
  return {
    cluster: (name) => clusters.get(name),
    rulelist: (name) => rulelists.get(name),
    rule: (name) => rules.get(name),
    route: (name) => routes.get(name),
  };
}

/** Protocols whose clusters never load-balance (anchor §2.7: LB `None`). */
const NO_LOAD_BALANCER = new Set(['Logger', 'Stdio', 'Sync', 'L7mpController']);

/** The load balancer a cluster actually runs: virtual clusters override any configured one. */
export function effectiveLoadBalancer(cluster: Pick<FlatCluster, 'spec' | 'loadbalancer'>): LoadBalancer {
  const protocol = cluster.spec.protocol;
  if (NO_LOAD_BALANCER.has(protocol)) return { policy: 'None' };
  if (isVirtualClusterProtocol(protocol)) return { policy: 'Trivial' };
  return cluster.loadbalancer ?? { policy: 'Trivial' };
}

/**
 * The spec as the proxy keeps it: a virtual cluster keeps only the fields it uses, with their
 * defaults (anchor §1.4: `{protocol:'Echo', foo:1}` dumps as `{protocol:'Echo'}`).
 */
export function canonicalClusterSpec(spec: ClusterSpec): ClusterSpec {
  switch (spec.protocol) {
    case 'Logger':
      return { protocol: 'Logger', log_file: spec.log_file ?? '-', log_prefix: spec.log_prefix ?? '' };
    case 'Sync':
      return { protocol: 'Sync', query: spec.query };
    default:
      return isVirtualClusterProtocol(spec.protocol) ? ({ protocol: spec.protocol } as ClusterSpec) : spec;
  }
}

export function dumpEndpoint(endpoint: FlatEndpoint): EndpointDump {
  return { name: endpoint.name, spec: endpoint.spec, weight: endpoint.weight };
}

/** `{name, spec, endpoints: <count>, loadbalancer}`; recursive lists the endpoints instead. */
export function dumpCluster(cluster: FlatCluster, options: DumpOptions = {}): ClusterDump {
  const virtual = isVirtualClusterProtocol(cluster.spec.protocol);
  const virtualEndpoints: VirtualEndpointDump[] = [
    { name: cluster.name, spec: { address: VIRTUAL_ADDRESS } },
  ];
  return {
    name: cluster.name,
    spec: canonicalClusterSpec(cluster.spec),
    endpoints: options.recursive
      ? virtual
        ? virtualEndpoints
        : cluster.endpoints.map(dumpEndpoint)
      : virtual
        ? virtualEndpoints.length
        : cluster.endpoints.length,
    loadbalancer: effectiveLoadBalancer(cluster),
  };
}

export function dumpRoute(route: FlatRoute, options: DumpOptions = {}): RouteDump {
  const { recursive, lookup } = options;
  const cluster = (name: string): string | ClusterDump => {
    if (!recursive || !lookup) return name;
    const found = lookup.cluster(name);
    return found ? dumpCluster(found, options) : staleReference(name);
  };
  return {
    name: route.name,
    destination: cluster(route.destination),
    ingress: route.ingress.map(cluster),
    egress: route.egress.map(cluster),
    retry: { ...route.retry },
  };
}

/** A rule without a predicate matches everything and dumps `match: {match: '*'}`. */
export function dumpRule(rule: FlatRule, options: DumpOptions = {}): RuleDump {
  const { recursive, lookup } = options;
  const action: RuleDump['action'] = {};
  if (rule.action.rewrite !== undefined) action.rewrite = rule.action.rewrite;
  if (rule.action.apply !== undefined) action.apply = rule.action.apply;
  const routeName = rule.action.route;
  if (routeName !== undefined) {
    if (recursive && lookup) {
      const route = lookup.route(routeName);
      action.route = route ? dumpRoute(route, options) : staleReference(routeName);
    } else {
      action.route = routeName;
    }
  }
  return { name: rule.name, match: rule.match ?? { ...WILDCARD_MATCH }, action };
}

function dumpRuleNames(names: string[], options: DumpOptions): (string | RuleDump)[] {
  const { recursive, lookup } = options;
  if (!recursive || !lookup) return [...names];
  return names.map((name) => {
    const rule = lookup.rule(name);
    return rule ? dumpRule(rule, options) : staleReference(name);
  });
}

export function dumpRuleList(rulelist: FlatRuleList, options: DumpOptions = {}): RuleListDump {
  return { name: rulelist.name, rules: dumpRuleNames(rulelist.rules, options) };
}

/** `{name, spec, rules: <rulelist name>, options}`; recursive puts the RuleList's rules in `rules`. */
export function dumpListener(listener: FlatListener, options: DumpOptions = {}): ListenerDump {
  let rules: ListenerDump['rules'] = listener.rules;
  if (options.recursive && options.lookup) {
    const rulelist = options.lookup.rulelist(listener.rules);
    rules = rulelist ? dumpRuleNames(rulelist.rules, options) : staleReference(listener.rules);
  }
  return { name: listener.name, spec: listener.spec, rules, options: { ...listener.options } };
}

// ------------------------------------------------------------------ whole-config dump

export interface ConfigDumpOptions {
  /**
   * Put generated (embedded) objects back inside the object that embedded them, as the config
   * was written. Without it every object is listed at the top level under its name.
   */
  embed?: boolean;
}

/** Config document objects in the proxy's form; valid input for ConfigSchema. */
export interface EndpointDocument {
  name: string;
  spec: FlatEndpoint['spec'];
  weight: number;
}
export interface ClusterDocument {
  name: string;
  spec: ClusterSpec;
  endpoints: EndpointDocument[];
  loadbalancer?: LoadBalancer;
}
export interface RouteDocument {
  name: string;
  destination: string | ClusterDocument;
  ingress: (string | ClusterDocument)[];
  egress: (string | ClusterDocument)[];
  retry: Retry;
}
export interface RuleDocument {
  name: string;
  match?: Predicate;
  action: { rewrite?: Rewrite[]; route?: string | RouteDocument; apply?: string };
}
export interface RuleListDocument {
  name: string;
  rules: (string | RuleDocument)[];
}
export interface ListenerDocument {
  name: string;
  spec: ListenerSpec;
  rules: string | (string | RuleDocument)[];
  options: { track: number };
}
export interface ConfigDocument {
  admin?: Admin;
  listeners: ListenerDocument[];
  clusters: ClusterDocument[];
  rulelists: RuleListDocument[];
  rules: RuleDocument[];
  routes: RouteDocument[];
}

const keyOf = (kind: ObjectKind, name: string) => `${kind}\0${name}`;

function clusterDocument(cluster: FlatCluster): ClusterDocument {
  return {
    name: cluster.name,
    spec: cluster.spec,
    endpoints: cluster.endpoints.map(dumpEndpoint),
    ...(cluster.loadbalancer !== undefined ? { loadbalancer: { ...cluster.loadbalancer } } : {}),
  };
}

/** Which generated objects have been placed inside a parent so far. */
interface EmbedState {
  readonly enabled: boolean;
  readonly done: Set<string>;
  /** Generated listener RuleLists that must stay top-level (their name would not survive). */
  readonly keepTopLevel: Set<string>;
  readonly lookup: FlatLookup;
  readonly generatedRuleLists: Map<string, FlatRuleList>;
}

/** Claims a generated object for embedding at its first reference; later references use its name. */
function claimForEmbedding(
  state: EmbedState,
  kind: ObjectKind,
  item: { name: string; generated: boolean } | undefined,
): boolean {
  if (!state.enabled || item === undefined || !item.generated) return false;
  const key = keyOf(kind, item.name);
  if (state.done.has(key)) return false;
  state.done.add(key);
  return true;
}

function clusterRef(name: string, state: EmbedState): string | ClusterDocument {
  const cluster = state.lookup.cluster(name);
  return cluster && claimForEmbedding(state, 'cluster', cluster) ? clusterDocument(cluster) : name;
}

function routeDocument(route: FlatRoute, state: EmbedState): RouteDocument {
  return {
    name: route.name,
    destination: clusterRef(route.destination, state),
    ingress: route.ingress.map((c) => clusterRef(c, state)),
    egress: route.egress.map((c) => clusterRef(c, state)),
    retry: { ...route.retry },
  };
}

function ruleDocument(rule: FlatRule, state: EmbedState): RuleDocument {
  const action: RuleDocument['action'] = {};
  if (rule.action.rewrite !== undefined) action.rewrite = rule.action.rewrite;
  if (rule.action.route !== undefined) {
    const route = state.lookup.route(rule.action.route);
    action.route =
      route && claimForEmbedding(state, 'route', route) ? routeDocument(route, state) : rule.action.route;
  }
  if (rule.action.apply !== undefined) action.apply = rule.action.apply;
  return { name: rule.name, ...(rule.match !== undefined ? { match: rule.match } : {}), action };
}

function ruleRefs(names: string[], state: EmbedState): (string | RuleDocument)[] {
  return names.map((name) => {
    const rule = state.lookup.rule(name);
    return rule && claimForEmbedding(state, 'rule', rule) ? ruleDocument(rule, state) : name;
  });
}

function listenerDocument(listener: FlatListener, state: EmbedState): ListenerDocument {
  const rulelist = state.generatedRuleLists.get(listener.rules);
  const embed =
    rulelist !== undefined &&
    !state.keepTopLevel.has(rulelist.name) &&
    claimForEmbedding(state, 'rulelist', rulelist);
  return {
    name: listener.name,
    spec: listener.spec,
    rules: embed ? ruleRefs(rulelist.rules, state) : listener.rules,
    options: { ...listener.options },
  };
}

function buildDocument(flat: FlatConfig, state: EmbedState): ConfigDocument {
  const listeners = flat.listeners.map((l) => listenerDocument(l, state));
  // Everything not embedded somewhere is listed at the top level, in the flat order: objects a
  // config spells out, and generated ones whose parent is gone (they embed their own children).
  const roots = <T extends { name: string }>(kind: ObjectKind, items: T[]) =>
    items.filter((i) => !state.done.has(keyOf(kind, i.name)));
  const rulelists: RuleListDocument[] = [];
  for (const rl of roots('rulelist', flat.rulelists)) {
    if (state.done.has(keyOf('rulelist', rl.name))) continue;
    rulelists.push({ name: rl.name, rules: ruleRefs(rl.rules, state) });
  }
  const rules: RuleDocument[] = [];
  for (const rule of roots('rule', flat.rules)) {
    if (state.done.has(keyOf('rule', rule.name))) continue;
    state.done.add(keyOf('rule', rule.name));
    rules.push(ruleDocument(rule, state));
  }
  const routes: RouteDocument[] = [];
  for (const route of roots('route', flat.routes)) {
    if (state.done.has(keyOf('route', route.name))) continue;
    state.done.add(keyOf('route', route.name));
    routes.push(routeDocument(route, state));
  }
  const clusters: ClusterDocument[] = [];
  for (const cluster of roots('cluster', flat.clusters)) {
    if (state.done.has(keyOf('cluster', cluster.name))) continue;
    state.done.add(keyOf('cluster', cluster.name));
    clusters.push(clusterDocument(cluster));
  }
  return {
    ...(flat.admin !== undefined ? { admin: { ...flat.admin } } : {}),
    listeners,
    clusters,
    rulelists,
    rules,
    routes,
  };
}

/**
 * Generated listener RuleLists whose name re-normalising the document would not reproduce.
 * A listener's inline rules cannot carry the RuleList's name, so the name is regenerated as
 * `<listener>-RuleList-<n>`; this replays that naming over the document.
 */
function unreproducibleRuleListNames(doc: ConfigDocument, flat: FlatConfig): string[] {
  const registry = new NameRegistry();
  for (const rl of doc.rulelists) registry.claim('rulelist', rl.name);
  const bad: string[] = [];
  doc.listeners.forEach((listener, i) => {
    if (typeof listener.rules === 'string') return;
    const actual = flat.listeners[i]?.rules;
    if (actual !== undefined && registry.generate('rulelist', listener.name, 'RuleList') !== actual)
      bad.push(actual);
  });
  return bad;
}

/**
 * Turns flat objects back into a config document in the proxy's form, such that parsing and
 * normalising the document gives the same flat objects. With `embed`, generated objects go back
 * inside their parents and keep their `generated` mark; without it they are listed at the top
 * level (and come back as not generated). Endpoints are always dumped with their names.
 */
export function dumpFlatConfig(flat: FlatConfig, options: ConfigDumpOptions = {}): ConfigDocument {
  const lookup = lookupIn(flat);
  const generatedRuleLists = new Map(flat.rulelists.filter((rl) => rl.generated).map((rl) => [rl.name, rl]));
  const keepTopLevel = new Set<string>();
  for (;;) {
    const state: EmbedState = {
      enabled: options.embed === true,
      done: new Set(),
      keepTopLevel,
      lookup,
      generatedRuleLists,
    };
    const doc = buildDocument(flat, state);
    const bad = state.enabled ? unreproducibleRuleListNames(doc, flat) : [];
    if (bad.length === 0) return doc;
    // Each round moves at least one RuleList to the top level, so this ends.
    bad.forEach((name) => keepTopLevel.add(name));
  }
}
