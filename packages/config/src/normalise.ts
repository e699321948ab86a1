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
  private readonly counters = new Map<string, number>();
  private readonly taken = new Map<ObjectKind, Set<string>>();
  private readonly externallyTaken: (kind: ObjectKind, name: string) => boolean;

  constructor(isTaken: (kind: ObjectKind, name: string) => boolean = () => false) {
    this.externallyTaken = isTaken;
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

/**
 * Turns a parsed config with embedded objects into flat named objects (anchor §1.1 naming),
 * in the anchor's order: clusters, listeners, rulelists, rules, routes. Explicit names are
 * reserved first so a generated name never takes a name the config spells out.
 */
export function normaliseConfig(config: Config, names: NameRegistry = new NameRegistry()): FlatConfig {
  const normaliser = new Normaliser(names);
  config.clusters.forEach((c, i) => normaliser.reserve('cluster', c.name, ['clusters', i]));
  config.listeners.forEach((l, i) => normaliser.reserve('listener', l.name, ['listeners', i]));
  config.rulelists.forEach((rl, i) => normaliser.reserve('rulelist', rl.name, ['rulelists', i]));
  config.rules.forEach((r, i) => normaliser.reserve('rule', r.name, ['rules', i]));
  config.routes.forEach((r, i) => normaliser.reserve('route', r.name, ['routes', i]));
  config.clusters.forEach((c, i) => normaliser.cluster(c, ['clusters', i]));
  config.listeners.forEach((l, i) => normaliser.listener(l, ['listeners', i]));
  config.rulelists.forEach((rl, i) => normaliser.rulelist(rl, ['rulelists', i]));
  config.rules.forEach((r, i) => normaliser.rule(r, ['rules', i]));
  config.routes.forEach((r, i) => normaliser.route(r, ['routes', i]));
  normaliser.check();
  if (config.admin !== undefined) normaliser.out.admin = config.admin;
  return normaliser.out;
}
