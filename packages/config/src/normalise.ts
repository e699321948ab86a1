import type { ConfigIssue, ObjectPath } from './errors';
import { ConfigValidationError, dedupeIssues } from './errors';
import type {
  Action,
  Admin,
  Cluster,
  ClusterRef,
  Config,
  Endpoint,
  Listener,
  Retry,
  Rewrite,
  Route,
  Rule,
  RuleList,
  LoadBalancer,
} from './schema/objects';
import type { Predicate } from './schema/predicate';
import type { ClusterSpec, ListenerSpec } from './schema/protocols';

/** The kinds of named objects; each has its own namespace (anchor §1.1). */
export type ObjectKind = 'listener' | 'cluster' | 'endpoint' | 'rulelist' | 'rule' | 'route';

export const KIND_LABEL: Record<ObjectKind, string> = {
  listener: 'Listener',
  cluster: 'Cluster',
  endpoint: 'EndPoint',
  rulelist: 'RuleList',
  rule: 'Rule',
  route: 'Route',
};

/** Flat objects: every embedded object replaced by the name of a separate object. */
export interface FlatEndpoint {
  name: string;
  spec: Endpoint['spec'];
  weight: number;
  generated: boolean;
}
export interface FlatCluster {
  name: string;
  spec: ClusterSpec;
  endpoints: FlatEndpoint[];
  loadbalancer?: LoadBalancer;
  generated: boolean;
}
export interface FlatRoute {
  name: string;
  destination: string;
  ingress: string[];
  egress: string[];
  retry: Retry;
  generated: boolean;
}
export interface FlatAction {
  rewrite?: Rewrite[];
  route?: string;
  apply?: string;
}
export interface FlatRule {
  name: string;
  match?: Predicate;
  action: FlatAction;
  generated: boolean;
}
export interface FlatRuleList {
  name: string;
  rules: string[];
  generated: boolean;
}
export interface FlatListener {
  name: string;
  spec: ListenerSpec;
  rules: string;
  options: { track: number };
  generated: boolean;
}
/** The result of normalising a config: what an object store holds. */
export interface FlatConfig {
  admin?: Admin;
  listeners: FlatListener[];
  clusters: FlatCluster[];
  rulelists: FlatRuleList[];
  rules: FlatRule[];
  routes: FlatRoute[];
}

export function emptyFlatConfig(): FlatConfig {
  return { listeners: [], clusters: [], rulelists: [], rules: [], routes: [] };
}

const MAX_NAME_ATTEMPTS = 20;

const pathKey = (path: ObjectPath): string => path.join('\0');

/**
 * Hands out names for embedded objects with the anchor's scheme (`<parent>-RuleList-<n>` ...)
 * and remembers which names are taken. A proxy keeps one for its lifetime, so counters keep
 * growing like the anchor's process-global ones; a standalone normalisation uses a fresh one.
 */
export class NameRegistry {
  private readonly taken = new Map<ObjectKind, Set<string>>();
  private readonly externallyTaken: (kind: ObjectKind, name: string) => boolean;
  private readonly counters: Map<string, number>;

  /**
   * @param isTaken names that exist outside this registry, e.g. the objects of a running proxy
   * @param counters shared with another registry (see scope())
   */
  constructor(
    isTaken: (kind: ObjectKind, name: string) => boolean = () => false,
    counters: Map<string, number> = new Map(),
  ) {
    this.externallyTaken = isTaken;
    this.counters = counters;
  }

  /**
   * A registry for one normalisation: it shares the counters (they only grow, like the anchor's)
   * and sees every name taken here, but the names it claims are dropped with it. A failed add
   * therefore leaves no name behind, and a store stays the only record of which names exist.
   */
  scope(): NameRegistry {
    return new NameRegistry((kind, name) => this.isTaken(kind, name), this.counters);
  }

  isTaken(kind: ObjectKind, name: string): boolean {
    return (this.taken.get(kind)?.has(name) ?? false) || this.externallyTaken(kind, name);
  }

  /** Marks a name as used; returns false if it already was. */
  claim(kind: ObjectKind, name: string): boolean {
    if (this.isTaken(kind, name)) return false;
    let set = this.taken.get(kind);
    if (!set) this.taken.set(kind, (set = new Set()));
    set.add(name);
    return true;
  }

  release(kind: ObjectKind, name: string): void {
    this.taken.get(kind)?.delete(name);
  }

  /** `<parent>-<Label>-<n>` with a per-label counter, then `_1` ... `_20` on a clash. */
  generate(kind: ObjectKind, parent: string, label: string, counter = label): string {
    const index = this.counters.get(counter) ?? 0;
    this.counters.set(counter, index + 1);
    const base = `${parent}-${label}-${index}`;
    for (let attempt = 0; attempt <= MAX_NAME_ATTEMPTS; attempt++) {
      const candidate = attempt === 0 ? base : `${base}_${attempt}`;
      if (this.claim(kind, candidate)) return candidate;
    }
    throw new Error(
      `Cannot create new name from ${base}: Could not find new name after ${MAX_NAME_ATTEMPTS} iterations`,
    );
  }
}

/**
 * Flattens parsed objects into named ones. Collects problems (duplicate names) instead of
 * throwing at the first, so a caller can report all of them.
 */
export class Normaliser {
  readonly out: FlatConfig = emptyFlatConfig();
  readonly issues: ConfigIssue[] = [];
  /** Top-level names reserved before any name is generated, keyed by kind and name. */
  private readonly reserved = new Map<string, string>();

  constructor(readonly names: NameRegistry = new NameRegistry()) {}

  /** Claims an explicit top-level name ahead of processing so generated names avoid it. */
  reserve(kind: ObjectKind, name: string | undefined, path: ObjectPath): void {
    if (name === undefined) return;
    if (this.names.claim(kind, name)) this.reserved.set(`${kind}\0${name}`, pathKey(path));
    else
      this.issues.push({ path: [...path, 'name'], message: `${KIND_LABEL[kind]} "${name}" already defined` });
  }

  private claimOrReport(kind: ObjectKind, name: string, path: ObjectPath): void {
    const key = `${kind}\0${name}`;
    if (this.reserved.get(key) === pathKey(path)) {
      this.reserved.delete(key);
      return;
    }
    if (!this.names.claim(kind, name)) {
      this.issues.push({ path: [...path, 'name'], message: `${KIND_LABEL[kind]} "${name}" already defined` });
    }
  }

  private nameFor(
    kind: ObjectKind,
    explicit: string | undefined,
    path: ObjectPath,
    parent: string,
    label: string,
    counter?: string,
  ): { name: string; generatedName: boolean } {
    if (explicit !== undefined) {
      this.claimOrReport(kind, explicit, path);
      return { name: explicit, generatedName: false };
    }
    return { name: this.names.generate(kind, parent, label, counter), generatedName: true };
  }

  listener(listener: Listener, path: ObjectPath, generated = false): string {
    const { name } = this.nameFor('listener', listener.name, path, 'Listener', 'Listener');
    let rules: string;
    if (typeof listener.rules === 'string') {
      rules = listener.rules;
    } else {
      const rulelistName = this.names.generate('rulelist', name, 'RuleList');
      this.rulelistBody(rulelistName, listener.rules, [...path, 'rules'], true);
      rules = rulelistName;
    }
    this.out.listeners.push({ name, spec: listener.spec, rules, options: listener.options, generated });
    return name;
  }

  rulelist(rulelist: RuleList, path: ObjectPath, generated = false): string {
    const { name } = this.nameFor('rulelist', rulelist.name, path, 'RuleList', 'RuleList');
    this.rulelistBody(name, rulelist.rules, [...path, 'rules'], generated);
    return name;
  }

  private rulelistBody(name: string, rules: (string | Rule)[], path: ObjectPath, generated: boolean): void {
    const ruleNames = rules.map((rule, i) =>
      typeof rule === 'string' ? rule : this.rule(rule, [...path, i], true, name),
    );
    this.out.rulelists.push({ name, rules: ruleNames, generated });
  }

  rule(rule: Rule, path: ObjectPath, generated = false, parent = 'Rule'): string {
    const { name } = this.nameFor('rule', rule.name, path, parent, 'Rule');
    const action = this.action(rule.action, [...path, 'action'], name);
    this.out.rules.push({
      name,
      ...(rule.match !== undefined ? { match: rule.match } : {}),
      action,
      generated,
    });
    return name;
  }

  private action(action: Action, path: ObjectPath, parent: string): FlatAction {
    const out: FlatAction = {};
    if (action.rewrite !== undefined) out.rewrite = action.rewrite;
    if (action.apply !== undefined) out.apply = action.apply;
    if (action.route !== undefined) {
      out.route =
        typeof action.route === 'string'
          ? action.route
          : this.route(action.route, [...path, 'route'], true, parent);
    }
    return out;
  }

  route(route: Route, path: ObjectPath, generated = false, parent = 'Route'): string {
    const { name } = this.nameFor('route', route.name, path, parent, 'Route');
    const destination = this.clusterRef(route.destination, [...path, 'destination'], name, 'Cluster');
    const ingress = route.ingress.map((c, i) =>
      this.clusterRef(c, [...path, 'ingress', i], name, 'ingress-Cluster'),
    );
    const egress = route.egress.map((c, i) =>
      this.clusterRef(c, [...path, 'egress', i], name, 'egress-Cluster'),
    );
    this.out.routes.push({ name, destination, ingress, egress, retry: route.retry, generated });
    return name;
  }

  private clusterRef(ref: ClusterRef, path: ObjectPath, parent: string, label: string): string {
    if (typeof ref === 'string') return ref;
    return this.cluster(ref, path, true, parent, label);
  }

  cluster(
    cluster: Cluster,
    path: ObjectPath,
    generated = false,
    parent = 'Cluster',
    label = 'Cluster',
  ): string {
    const { name } =
      cluster.name !== undefined
        ? this.nameFor('cluster', cluster.name, path, parent, label)
        : { name: this.names.generate('cluster', parent, label, 'Cluster') };
    const endpoints = cluster.endpoints.map((ep, i) => this.endpoint(ep, [...path, 'endpoints', i], name));
    this.out.clusters.push({
      name,
      spec: cluster.spec,
      endpoints,
      ...(cluster.loadbalancer !== undefined ? { loadbalancer: cluster.loadbalancer } : {}),
      generated,
    });
    return name;
  }

  endpoint(endpoint: Endpoint, path: ObjectPath, cluster: string): FlatEndpoint {
    const { name, generatedName } = this.nameFor('endpoint', endpoint.name, path, cluster, 'EndPoint');
    return { name, spec: endpoint.spec, weight: endpoint.weight, generated: generatedName };
  }

  /** Throws a ConfigValidationError with every collected problem, if any. */
  check(context?: string): void {
    if (this.issues.length > 0) throw new ConfigValidationError(dedupeIssues(this.issues), context);
  }
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** A name a config spells out, at any depth, with the kind whose namespace it lives in. */
export interface ExplicitName {
  kind: ObjectKind;
  name: string;
  path: ObjectPath;
}

/**
 * Every explicit name in a config, embedded objects included, in the order the normaliser
 * visits them (clusters, listeners, rulelists, rules, routes; depth first). Works on raw input
 * as well as on a parsed config, so duplicate names can be reported even when other parts of
 * the config do not validate.
 */
export function explicitNames(config: unknown): ExplicitName[] {
  const found: ExplicitName[] = [];
  const add = (kind: ObjectKind, value: Record<string, unknown>, path: ObjectPath) => {
    if (typeof value.name === 'string') found.push({ kind, name: value.name, path });
  };
  const cluster = (value: unknown, path: ObjectPath) => {
    const c = asRecord(value);
    if (!c) return;
    add('cluster', c, path);
    asList(c.endpoints).forEach((ep, i) => {
      const e = asRecord(ep);
      if (e) add('endpoint', e, [...path, 'endpoints', i]);
    });
  };
  const route = (value: unknown, path: ObjectPath) => {
    const r = asRecord(value);
    if (!r) return;
    add('route', r, path);
    const destinationKey = r.destination !== undefined ? 'destination' : 'cluster';
    cluster(r[destinationKey], [...path, destinationKey]);
    asList(r.ingress).forEach((c, i) => cluster(c, [...path, 'ingress', i]));
    asList(r.egress).forEach((c, i) => cluster(c, [...path, 'egress', i]));
  };
  const rule = (value: unknown, path: ObjectPath) => {
    const r = asRecord(value);
    if (!r) return;
    add('rule', r, path);
    const action = asRecord(r.action);
    if (action) route(action.route, [...path, 'action', 'route']);
  };
  const rules = (value: unknown, path: ObjectPath) => asList(value).forEach((r, i) => rule(r, [...path, i]));
  const root = asRecord(config) ?? {};
  asList(root.clusters).forEach((c, i) => cluster(c, ['clusters', i]));
  asList(root.listeners).forEach((value, i) => {
    const l = asRecord(value);
    if (!l) return;
    add('listener', l, ['listeners', i]);
    rules(l.rules, ['listeners', i, 'rules']);
  });
  asList(root.rulelists).forEach((value, i) => {
    const rl = asRecord(value);
    if (!rl) return;
    add('rulelist', rl, ['rulelists', i]);
    rules(rl.rules, ['rulelists', i, 'rules']);
  });
  asList(root.rules).forEach((r, i) => rule(r, ['rules', i]));
  asList(root.routes).forEach((r, i) => route(r, ['routes', i]));
  return found;
}

/** `<Kind> "<name>" already defined` for every name a config spells out twice in one namespace. */
export function duplicateNameIssues(config: unknown): ConfigIssue[] {
  const normaliser = new Normaliser();
  for (const { kind, name, path } of explicitNames(config)) normaliser.reserve(kind, name, path);
  return dedupeIssues(normaliser.issues);
}

/**
 * Turns a parsed config with embedded objects into flat named objects (anchor §1.1 naming),
 * in the anchor's order: clusters, listeners, rulelists, rules, routes. Every explicit name,
 * embedded ones included, is reserved first, so a generated name never takes a name the config
 * spells out (it gets the `_1` ... suffix instead). `names` supplies the counters and the names
 * that exist already; the names of this config are not added to it (see NameRegistry.scope).
 */
export function normaliseConfig(config: Config, names: NameRegistry = new NameRegistry()): FlatConfig {
  const normaliser = new Normaliser(names.scope());
  for (const { kind, name, path } of explicitNames(config)) normaliser.reserve(kind, name, path);
  config.clusters.forEach((c, i) => normaliser.cluster(c, ['clusters', i]));
  config.listeners.forEach((l, i) => normaliser.listener(l, ['listeners', i]));
  config.rulelists.forEach((rl, i) => normaliser.rulelist(rl, ['rulelists', i]));
  config.rules.forEach((r, i) => normaliser.rule(r, ['rules', i]));
  config.routes.forEach((r, i) => normaliser.route(r, ['routes', i]));
  normaliser.check();
  if (config.admin !== undefined) normaliser.out.admin = config.admin;
  return normaliser.out;
}

/** The parsed (not yet flattened) object of each kind a REST API can add. */
export interface ParsedObjects {
  listener: Listener;
  cluster: Cluster;
  rulelist: RuleList;
  rule: Rule;
  route: Route;
}

const LIST_OF: Record<keyof ParsedObjects, 'listeners' | 'clusters' | 'rulelists' | 'rules' | 'routes'> = {
  listener: 'listeners',
  cluster: 'clusters',
  rulelist: 'rulelists',
  rule: 'rules',
  route: 'routes',
};

/**
 * Flattens one object added on its own (a REST API body) with the naming of normaliseConfig:
 * its explicit names, embedded ones included, are checked against and reserved in `names`
 * before any name is generated. Problems are reported with paths relative to the object.
 */
export function normaliseObject<K extends keyof ParsedObjects>(
  kind: K,
  value: ParsedObjects[K],
  names: NameRegistry,
): FlatConfig {
  const config: Config = { listeners: [], clusters: [], rulelists: [], rules: [], routes: [] };
  (config[LIST_OF[kind]] as ParsedObjects[K][]).push(value);
  try {
    return normaliseConfig(config, names);
  } catch (e) {
    if (!(e instanceof ConfigValidationError)) throw e;
    throw new ConfigValidationError(e.issues.map((i) => ({ path: i.path.slice(2), message: i.message })));
  }
}
