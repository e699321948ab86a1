import {
  AdminSchema,
  ConfigValidationError,
  EndpointSchema,
  KIND_LABEL,
  NameRegistry,
  NamedClusterSchema,
  NamedListenerSchema,
  NamedRouteSchema,
  NamedRuleListSchema,
  NamedRuleSchema,
  Normaliser,
  ObjectName,
  RuleSchema,
  dumpFlatConfig,
  parseAndNormaliseConfig,
  safeParseWith,
  type Admin,
  type ConfigDocument,
  type ConfigIssue,
  type FlatConfig,
  type FlatEndpoint,
  type FlatListener,
  type ListenerSpec,
  type ObjectKind,
} from '@l7mp/config';
import { Registry } from 'prom-client';
import type { z } from 'zod';
import { AlreadyDefinedError, BadRequestError, L7mpError, NotFoundError, ValidationError } from './errors';
import { pinoLevel, silentLogger, type Logger } from './logger';
import { ProxyMetrics } from './metrics/proxy-metrics';
import { TrafficStats } from './metrics/stats';
import { ProxyEvents, type ProxyEventCallback, type ProxyEventName } from './proxy-events';
import { TransportRegistry } from './registry';
import { messageOf } from './session/connect';
import type { SessionHost } from './session/host';
import { Session } from './session/session';
import {
  createClusterEntry,
  createEndpointEntry,
  createRuleEntry,
  endpointProblem,
  protocolIssues,
} from './store/build';
import {
  dumpCluster,
  dumpEndpoint,
  dumpListener,
  dumpRoute,
  dumpRule,
  dumpRuleList,
  flatConfig,
  flatListener,
  type DumpOptions,
} from './store/dump';
import {
  ObjectStore,
  refreshBalancer,
  type ClusterEntry,
  type ListenerEntry,
  type StoreSnapshot,
} from './store/entries';
import { planIsEmpty, planReplace, summarise, type ReplacePlan, type ReplaceSummary } from './store/plan';
import { createLoadBalancer } from './loadbalancer/index';
import { builtinTransforms } from './transforms/index';
import type { AcceptResult, IncomingConnection, ListenerTransport, TransportPlugin } from './transport/types';

export interface ProxyOptions {
  /** Transport plug-ins (UDP, TCP, ...); the built-in transforms are always registered first. */
  transports?: readonly TransportPlugin[];
  logger?: Logger;
  /** Prometheus registry for the proxy's metrics (a new one by default). */
  metricsRegistry?: Registry;
  /**
   * The address listeners bind when their spec names none (a pod's IP; a loopback address of a
   * local "pod"). Dumps keep showing the spec as given. Default: the transports' own default.
   */
  listenAddress?: string;
}

/** A listener spec with `address` filled in where it binds a port and names no address. */
function withListenAddress(spec: ListenerSpec, address: string | undefined): ListenerSpec {
  if (address === undefined) return spec;
  switch (spec.protocol) {
    case 'UDP':
    case 'TCP':
    case 'HTTP':
    case 'WebSocket':
      return spec.address === undefined ? { ...spec, address } : spec;
    case 'JSONSocket': {
      const transport = withListenAddress(spec.transport as ListenerSpec, address);
      return transport === spec.transport ? spec : { ...spec, transport: transport as typeof spec.transport };
    }
    default:
      return spec;
  }
}

export interface DeleteOptions {
  /** Also delete what the object embedded, and end the sessions it carries (anchor §1.9). */
  recursive?: boolean;
}

/** What `getAdmin` reports (anchor §1.2). */
export interface AdminDump {
  log_level: string;
  strict: boolean;
  offload: boolean;
  version: string;
  log_file?: string;
  access_log_path?: string;
}

export const PROXY_VERSION = '0.1.0';

const ALREADY_DEFINED = /^(Listener|Cluster|EndPoint|RuleList|Rule|Route) "(.*)" already defined$/;

/** Turns a config-package validation error into ours; a duplicate name becomes AlreadyDefinedError. */
function toProxyError(error: unknown, context: string): Error {
  if (!(error instanceof ConfigValidationError))
    return error instanceof Error ? error : new Error(String(error));
  if (error.issues.length === 1) {
    const duplicate = ALREADY_DEFINED.exec(error.issues[0]?.message ?? '');
    if (duplicate !== null) return new AlreadyDefinedError(duplicate[1] ?? '', duplicate[2] ?? '');
  }
  return new ValidationError(`${context}: ${error.message}`, error.issues);
}

function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, context: string): z.output<S> {
  const result = safeParseWith(schema, input);
  if (!result.ok) throw toProxyError(result.error, context);
  return result.value;
}

function namesOf(fragment: FlatConfig): [ObjectKind, string][] {
  const names: [ObjectKind, string][] = [];
  for (const l of fragment.listeners) names.push(['listener', l.name]);
  for (const c of fragment.clusters) {
    names.push(['cluster', c.name]);
    for (const e of c.endpoints) names.push(['endpoint', e.name]);
  }
  for (const rl of fragment.rulelists) names.push(['rulelist', rl.name]);
  for (const r of fragment.rules) names.push(['rule', r.name]);
  for (const r of fragment.routes) names.push(['route', r.name]);
  return names;
}

/**
 * An l7mp proxy: an object store of listeners, clusters, endpoints, rulelists, rules and routes
 * bound to each other by name at use time, and the sessions its listeners hand over.
 */
export class Proxy {
  readonly logger: Logger;
  readonly metricsRegistry: Registry;
  readonly transports: TransportRegistry;
  private readonly store = new ObjectStore();
  /**
   * Counters for generated names live as long as the proxy (like the anchor's). The store is
   * the record of taken names; the registry's own set only holds names during one add.
   */
  private readonly names: NameRegistry;
  private readonly metrics: ProxyMetrics;
  private readonly events: ProxyEvents;
  private readonly liveSessions = new Map<string, Session>();
  /** Ended sessions whose half-closed conduits have not closed yet; close() releases them. */
  private readonly lingeringSessions = new Set<Session>();
  private readonly trackTimers = new Map<Session, NodeJS.Timeout>();
  private readonly warnedRoutes = new Set<string>();
  private readonly host: SessionHost;
  private readonly listenAddress: string | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: ProxyOptions = {}) {
    this.logger = options.logger ?? silentLogger();
    this.listenAddress = options.listenAddress;
    this.metricsRegistry = options.metricsRegistry ?? new Registry();
    this.metrics = ProxyMetrics.forRegistry(this.metricsRegistry);
    this.transports = new TransportRegistry([builtinTransforms, ...(options.transports ?? [])]);
    this.names = new NameRegistry((kind, name) => this.store.has(kind, name));
    this.events = new ProxyEvents(this.logger);
    this.host = this.makeSessionHost();
  }

  private makeSessionHost(): SessionHost {
    return {
      store: this.store,
      logger: this.logger,
      metrics: this.metrics,
      sessionConnected: (session) => this.events.emit('session-connect', session),
      sessionDisconnected: (session, origin, error) =>
        this.events.emit('session-disconnect', session, origin, error),
      sessionEnded: (session, error) => {
        if (error !== undefined) {
          this.logger.info({ session: session.name, err: error.message }, 'session failed');
        }
        this.events.emit('session-end', session, error);
      },
      sessionDestroyed: (session, trackSeconds) => this.sessionDestroyed(session, trackSeconds),
      sessionLingering: (session, lingering) => {
        if (lingering) this.lingeringSessions.add(session);
        else this.lingeringSessions.delete(session);
      },
      unframedHop: (route, from, to) => {
        if (this.warnedRoutes.has(route)) return;
        this.warnedRoutes.add(route);
        this.logger.warn(
          { route, from, to },
          `Route "${route}": datagrams from "${from}" go into the byte stream "${to}" without framing, so message boundaries are lost; set spec.framing`,
        );
      },
    };
  }

  // ---------------------------------------------------------------- events

  on<E extends ProxyEventName>(event: E, callback: ProxyEventCallback<E>): this {
    this.events.on(event, callback);
    return this;
  }

  off<E extends ProxyEventName>(event: E, callback: ProxyEventCallback<E>): this {
    this.events.off(event, callback);
    return this;
  }

  once<E extends ProxyEventName>(event: E, callback: ProxyEventCallback<E>): this {
    this.events.once(event, callback);
    return this;
  }

  // ---------------------------------------------------------------- adding

  /**
   * Applies a static config (anchor order: clusters, listeners, rulelists, rules, routes). The
   * whole input is validated first and every problem reported at once; nothing is applied if
   * anything is wrong, and if a listener cannot start everything this call added is removed.
   */
  async applyConfig(input: unknown): Promise<void> {
    this.assertOpen();
    // Validate against a throwaway name registry first, so a config that is rejected neither
    // advances the proxy's name counters nor holds any name.
    try {
      parseAndNormaliseConfig(input, new NameRegistry((kind, name) => this.store.has(kind, name)));
    } catch (error) {
      throw toProxyError(error, 'Cannot apply config');
    }
    let fragment: FlatConfig;
    try {
      fragment = parseAndNormaliseConfig(input, this.names);
    } catch (error) {
      throw toProxyError(error, 'Cannot apply config');
    }
    this.releaseNames(fragment);
    let admin: Admin | undefined;
    if (fragment.admin !== undefined) admin = fragment.admin;
    await this.commit(fragment, 'Cannot apply config');
    if (admin !== undefined) this.applyAdmin(admin);
  }

  /**
   * Makes the proxy run exactly `input` (the declarative `PUT /api/v1/config`). The whole
   * document is validated first; then only what differs is changed: unchanged listeners and
   * clusters, and the sessions through them, are not touched; a cluster whose endpoints or load
   * balancer changed is updated in place. If a listener cannot start, every change is undone.
   */
  async replaceConfig(input: unknown): Promise<ReplaceSummary> {
    this.assertOpen();
    let desired: FlatConfig;
    try {
      // A fresh registry: generated names depend only on the document, so the same document
      // always yields the same names and a second PUT finds nothing to change.
      desired = parseAndNormaliseConfig(input, new NameRegistry());
    } catch (error) {
      throw toProxyError(error, 'Cannot replace config');
    }
    const issues = protocolIssues(desired, this.transports);
    if (issues.length > 0) throw toProxyError(new ConfigValidationError(issues), 'Cannot replace config');
    const plan = planReplace(flatConfig(this.store), desired);
    const summary = summarise(plan);
    if (planIsEmpty(plan)) return summary;

    // Build every new transport before changing anything: a factory that throws changes nothing.
    const newClusters = new Map<string, ClusterEntry>();
    const newListeners = new Map<string, ListenerEntry>();
    try {
      for (const change of plan.clusters) {
        if ((change.kind === 'add' || change.kind === 'recreate') && change.desired !== undefined) {
          newClusters.set(
            change.name,
            createClusterEntry(change.desired, this.transports, this.logger, this.metricsRegistry),
          );
        }
      }
      for (const change of plan.listeners) {
        if ((change.kind === 'add' || change.kind === 'recreate') && change.desired !== undefined) {
          newListeners.set(change.name, this.buildListener(change.desired));
        }
      }
    } catch (error) {
      await Promise.allSettled([...newClusters.values()].map((c) => c.transport.close?.()));
      throw new L7mpError(`Cannot replace config: ${messageOf(error)}`, {
        status: error instanceof L7mpError ? error.status : 400,
        cause: error,
      });
    }

    const snapshot = this.store.snapshot();
    const closedListeners: ListenerEntry[] = [];
    const startedListeners: ListenerEntry[] = [];
    const retiredClusters: ClusterEntry[] = [];
    try {
      this.applyDataChanges(plan, newClusters, retiredClusters);
      for (const change of plan.listeners) {
        const old = this.store.listeners.get(change.name);
        if (change.kind === 'update' && old !== undefined && change.desired !== undefined) {
          this.store.listeners.set(change.name, {
            ...old,
            rules: change.desired.rules,
            options: { ...change.desired.options },
          });
        } else if ((change.kind === 'remove' || change.kind === 'recreate') && old !== undefined) {
          this.store.listeners.delete(change.name);
          closedListeners.push(old);
        }
      }
      // Free the ports of replaced listeners before their successors bind them.
      for (const old of closedListeners) {
        await old.transport
          .close()
          .catch((error: unknown) => this.logCloseError('listener', old.name, error));
      }
      for (const listener of newListeners.values()) {
        this.store.listeners.set(listener.name, listener);
        await listener.transport.start();
        startedListeners.push(listener);
      }
    } catch (error) {
      await this.undoReplace(snapshot, startedListeners, closedListeners, newClusters);
      throw new L7mpError(`Cannot replace config: ${messageOf(error)}; nothing was changed`, {
        status: 400,
        cause: error,
      });
    }

    for (const old of closedListeners) {
      this.endSessions((s) => s.listener === old.name, 'Listener replaced or removed');
      this.metrics.listenerRemoved(old.name);
      this.events.emit('listener-removed', old.name);
    }
    for (const listener of startedListeners) {
      this.metrics.listenerAdded(listener.name, listener.spec.protocol, listener.stats);
      this.events.emit('listener-added', listener.name);
    }
    for (const cluster of retiredClusters) {
      await cluster.transport
        .close?.()
        .catch((error: unknown) => this.logCloseError('cluster', cluster.name, error));
    }
    if (plan.adminChanged && desired.admin !== undefined) this.applyAdmin(desired.admin);
    return summary;
  }

  /** Registers cluster, endpoint, rulelist, rule and route changes (synchronously: no session sees half of it). */
  private applyDataChanges(
    plan: ReplacePlan,
    newClusters: ReadonlyMap<string, ClusterEntry>,
    retired: ClusterEntry[],
  ): void {
    for (const change of plan.clusters) {
      const old = this.store.clusters.get(change.name);
      if (change.kind === 'remove' || change.kind === 'recreate') {
        if (old !== undefined) {
          for (const endpoint of old.endpoints.keys()) this.removeEndpoint(old.name, endpoint, false);
          this.store.clusters.delete(old.name);
          this.metrics.clusterRemoved(old.name);
          this.events.emit('cluster-removed', old.name);
          retired.push(old);
        }
      }
      const created = newClusters.get(change.name);
      if (created !== undefined) this.registerCluster(created);
      if (change.kind === 'update' && old !== undefined && change.desired !== undefined) {
        let entry = old;
        if (change.loadbalancerChanged) {
          const balancer = createLoadBalancer(
            change.desired.loadbalancer,
            old.transport.virtual ? 'None' : 'Trivial',
          );
          entry = { ...old, loadbalancerSpec: change.desired.loadbalancer, balancer };
          this.store.clusters.set(old.name, entry);
        }
        for (const endpoint of change.removedEndpoints) this.removeEndpoint(old.name, endpoint, false);
        for (const flat of change.addedEndpoints) {
          const endpoint = createEndpointEntry(old.name, flat);
          entry.endpoints.set(endpoint.name, endpoint);
          this.store.endpoints.set(endpoint.name, endpoint);
          this.metrics.endpointAdded(old.name, endpoint.name, endpoint.stats);
          this.events.emit('endpoint-added', endpoint.name, old.name);
        }
        refreshBalancer(entry);
      }
    }
    for (const name of plan.routes.remove)
      if (this.store.routes.delete(name)) this.events.emit('route-removed', name);
    for (const route of plan.routes.set) {
      this.store.routes.set(route.name, route);
      this.events.emit('route-added', route.name);
    }
    for (const name of plan.rules.remove)
      if (this.store.rules.delete(name)) this.events.emit('rule-removed', name);
    for (const rule of plan.rules.set) {
      this.store.rules.set(rule.name, createRuleEntry(rule));
      this.events.emit('rule-added', rule.name);
    }
    for (const name of plan.rulelists.remove) {
      if (this.store.rulelists.delete(name)) this.events.emit('rulelist-removed', name);
    }
    for (const rulelist of plan.rulelists.set) {
      this.store.rulelists.set(rulelist.name, {
        name: rulelist.name,
        rules: [...rulelist.rules],
        generated: rulelist.generated,
      });
      this.events.emit('rulelist-added', rulelist.name);
    }
  }

  /** Puts the store back as it was before a failed replace and re-opens the listeners it closed. */
  private async undoReplace(
    snapshot: StoreSnapshot,
    started: readonly ListenerEntry[],
    closed: readonly ListenerEntry[],
    newClusters: ReadonlyMap<string, ClusterEntry>,
  ): Promise<void> {
    await Promise.allSettled(started.map((l) => l.transport.close()));
    await Promise.allSettled([...newClusters.values()].map((c) => c.transport.close?.()));
    this.store.restore(snapshot);
    for (const cluster of newClusters.values()) this.metrics.clusterRemoved(cluster.name);
    for (const cluster of this.store.clusters.values()) {
      this.metrics.clusterAdded(cluster.name, cluster.spec.protocol, cluster.stats);
      for (const endpoint of cluster.endpoints.values())
        this.metrics.endpointAdded(cluster.name, endpoint.name, endpoint.stats);
    }
    for (const old of closed) {
      // A closed transport cannot be reopened: build a fresh one from the same config.
      const reopened = this.buildListener(flatListener(old));
      try {
        await reopened.transport.start();
        this.store.listeners.set(old.name, { ...reopened, stats: old.stats });
      } catch (error) {
        this.store.listeners.delete(old.name);
        this.endSessions((s) => s.listener === old.name, 'Listener could not be restored');
        this.metrics.listenerRemoved(old.name);
        this.logger.error(
          { listener: old.name, err: messageOf(error) },
          'listener could not be restored after a failed config replace',
        );
      }
    }
  }

  private buildListener(flat: FlatListener): ListenerEntry {
    const transport = this.transports.createListener({
      name: flat.name,
      spec: withListenAddress(flat.spec, this.listenAddress),
      logger: this.logger.child({ listener: flat.name }),
      transports: this.transports,
      accept: (connection) => this.accept(flat.name, connection),
    });
    return { ...flat, options: { ...flat.options }, transport, stats: new TrafficStats() };
  }

  /** True once close() was called. */
  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  async addListener(input: unknown): Promise<ReturnType<typeof dumpListener>> {
    const name = await this.addObject('listener', NamedListenerSchema, input, (n, l) => n.listener(l, []));
    return this.getListener(name);
  }

  async addCluster(input: unknown): Promise<ReturnType<typeof dumpCluster>> {
    const name = await this.addObject('cluster', NamedClusterSchema, input, (n, c) => n.cluster(c, []));
    return this.getCluster(name);
  }

  async addRuleList(input: unknown): Promise<ReturnType<typeof dumpRuleList>> {
    const name = await this.addObject('rulelist', NamedRuleListSchema, input, (n, rl) => n.rulelist(rl, []));
    return this.getRuleList(name);
  }

  async addRule(input: unknown): Promise<ReturnType<typeof dumpRule>> {
    const name = await this.addObject('rule', NamedRuleSchema, input, (n, r) => n.rule(r, []));
    return this.getRule(name);
  }

  async addRoute(input: unknown): Promise<ReturnType<typeof dumpRoute>> {
    const name = await this.addObject('route', NamedRouteSchema, input, (n, r) => n.route(r, []));
    return this.getRoute(name);
  }

  /** Validates one named top-level object, flattens what it embeds and commits it all; returns its name. */
  private async addObject<S extends z.ZodType<{ name?: string | undefined }>>(
    kind: ObjectKind,
    schema: S,
    input: unknown,
    flatten: (normaliser: Normaliser, parsed: z.output<S>) => void,
  ): Promise<string> {
    this.assertOpen();
    const context = `Cannot add ${kind}`;
    const parsed = parseOrThrow(schema, input, context);
    const name = parsed.name ?? '';
    if (this.store.has(kind, name)) throw new AlreadyDefinedError(KIND_LABEL[kind], name);
    const fragment = this.normalise(context, (n) => flatten(n, parsed));
    await this.commit(fragment, context, { kind, name });
    return name;
  }

  async addEndpoint(clusterName: string, input: unknown): Promise<ReturnType<typeof dumpEndpoint>> {
    this.assertOpen();
    const cluster = this.store.clusters.get(clusterName);
    if (cluster === undefined)
      throw new NotFoundError(`Cannot add endpoint: Unknown cluster "${clusterName}"`);
    if (cluster.transport.virtual) {
      throw new BadRequestError(
        `Adding an endpoint to a cluster of type "${cluster.spec.protocol}" is not supported`,
      );
    }
    const endpoint = parseOrThrow(EndpointSchema, input, 'Cannot add endpoint');
    if (endpoint.name !== undefined && this.store.endpoints.has(endpoint.name)) {
      throw new AlreadyDefinedError(KIND_LABEL.endpoint, endpoint.name);
    }
    const problem = endpointProblem(cluster, endpoint);
    if (problem !== undefined) {
      throw new ValidationError(`Cannot add endpoint: ${problem}`, [
        { path: ['spec', 'address'], message: problem },
      ]);
    }
    const normaliser = new Normaliser(this.names);
    let flat: FlatEndpoint;
    try {
      flat = normaliser.endpoint(endpoint, [], clusterName);
      this.names.release('endpoint', flat.name);
      normaliser.check();
    } catch (error) {
      throw toProxyError(error, 'Cannot add endpoint');
    }
    const entry = createEndpointEntry(clusterName, flat);
    cluster.endpoints.set(entry.name, entry);
    this.store.endpoints.set(entry.name, entry);
    refreshBalancer(cluster);
    this.metrics.endpointAdded(clusterName, entry.name, entry.stats);
    this.events.emit('endpoint-added', entry.name, clusterName);
    return dumpEndpoint(entry);
  }

  /** Inserts a rule (a name, or an inline rule that is created) at `position` of a RuleList. */
  async addRuleToRuleList(
    rulelistName: string,
    position: number,
    rule: unknown,
  ): Promise<ReturnType<typeof dumpRuleList>> {
    this.assertOpen();
    const rulelist = this.store.rulelists.get(rulelistName);
    if (rulelist === undefined) throw new NotFoundError(`No such rule list: ${rulelistName}`);
    if (!Number.isInteger(position) || position < 0 || position > rulelist.rules.length) {
      throw new BadRequestError(`Cannot insert rule at position ${position} into rulelist "${rulelistName}"`);
    }
    let ruleName: string;
    if (typeof rule === 'string') {
      ruleName = parseOrThrow(ObjectName, rule, 'Cannot add rule to rulelist');
    } else {
      const parsed = parseOrThrow(RuleSchema, rule, 'Cannot add rule to rulelist');
      if (parsed.name !== undefined && this.store.rules.has(parsed.name)) {
        throw new AlreadyDefinedError(KIND_LABEL.rule, parsed.name);
      }
      let created = '';
      const fragment = this.normalise('Cannot add rule to rulelist', (n) => {
        created = n.rule(parsed, [], true, rulelistName);
      });
      await this.commit(fragment, 'Cannot add rule to rulelist');
      ruleName = created;
    }
    // The list may have changed while the rule was being added.
    const current = this.store.rulelists.get(rulelistName);
    if (current === undefined) throw new NotFoundError(`No such rule list: ${rulelistName}`);
    current.rules.splice(Math.min(position, current.rules.length), 0, ruleName);
    return dumpRuleList(this.store, current);
  }

  /** Runs normaliser steps for one add. */
  private normalise(context: string, steps: (normaliser: Normaliser) => void): FlatConfig {
    const normaliser = new Normaliser(this.names);
    try {
      steps(normaliser);
      normaliser.check();
      return normaliser.out;
    } catch (error) {
      throw toProxyError(error, context);
    } finally {
      this.releaseNames(normaliser.out);
    }
  }

  /**
   * The store is the record of taken names (the registry asks it); names a normalisation
   * claims are released at once, and the objects reach the store without an intervening await.
   */
  private releaseNames(fragment: FlatConfig): void {
    for (const [kind, name] of namesOf(fragment)) this.names.release(kind, name);
  }

  /**
   * Registers the objects of a normalised fragment: everything is built first (transports, load
   * balancers, predicates), then registered without an await, then listeners are started. A
   * listener that cannot start takes the whole fragment with it.
   */
  private async commit(
    fragment: FlatConfig,
    context: string,
    root?: { kind: ObjectKind; name: string },
  ): Promise<void> {
    // Paths name objects as `clusters.<name>...`; for the object being added they are relative to it.
    const issues: ConfigIssue[] = protocolIssues(fragment, this.transports).map((issue) =>
      root !== undefined && issue.path[0] === `${root.kind}s` && issue.path[1] === root.name
        ? { ...issue, path: issue.path.slice(2) }
        : issue,
    );
    for (const [kind, name] of namesOf(fragment)) {
      if (this.store.has(kind, name))
        issues.push({
          path: [`${kind}s`, name, 'name'],
          message: `${KIND_LABEL[kind]} "${name}" already defined`,
        });
    }
    if (issues.length > 0) throw toProxyError(new ConfigValidationError(issues), context);

    const clusters: ClusterEntry[] = [];
    const listeners: ListenerEntry[] = [];
    try {
      for (const flat of fragment.clusters) {
        clusters.push(createClusterEntry(flat, this.transports, this.logger, this.metricsRegistry));
      }
      for (const flat of fragment.listeners) listeners.push(this.buildListener(flat));
    } catch (error) {
      await Promise.allSettled(clusters.map((c) => c.transport.close?.()));
      throw new L7mpError(`${context}: ${messageOf(error)}`, {
        status: error instanceof L7mpError ? error.status : 400,
        cause: error,
      });
    }
    const rules = fragment.rules.map(createRuleEntry);

    for (const cluster of clusters) this.registerCluster(cluster);
    for (const rulelist of fragment.rulelists) {
      this.store.rulelists.set(rulelist.name, {
        name: rulelist.name,
        rules: [...rulelist.rules],
        generated: rulelist.generated,
      });
      this.events.emit('rulelist-added', rulelist.name);
    }
    for (const rule of rules) {
      this.store.rules.set(rule.name, rule);
      this.events.emit('rule-added', rule.name);
    }
    for (const route of fragment.routes) {
      this.store.routes.set(route.name, route);
      this.events.emit('route-added', route.name);
    }
    for (const listener of listeners) this.store.listeners.set(listener.name, listener);

    const started: ListenerEntry[] = [];
    for (const listener of listeners) {
      try {
        await listener.transport.start();
        started.push(listener);
        this.metrics.listenerAdded(listener.name, listener.spec.protocol, listener.stats);
        this.events.emit('listener-added', listener.name);
      } catch (error) {
        await this.rollback(fragment, started);
        throw new L7mpError(`${context}: listener "${listener.name}" cannot start: ${messageOf(error)}`, {
          status: 400,
          cause: error,
        });
      }
    }
  }

  /** Removes what a failed commit registered (the listener that failed never started). */
  private async rollback(fragment: FlatConfig, started: readonly ListenerEntry[]): Promise<void> {
    for (const listener of fragment.listeners) {
      const entry = this.store.listeners.get(listener.name);
      if (entry === undefined) continue;
      this.store.listeners.delete(listener.name);
      if (started.includes(entry)) {
        this.endSessions((s) => s.listener === listener.name, 'Listener removed');
        this.metrics.listenerRemoved(listener.name);
        this.events.emit('listener-removed', listener.name);
        await entry.transport
          .close()
          .catch((error: unknown) => this.logCloseError('listener', listener.name, error));
      }
    }
    for (const route of fragment.routes)
      if (this.store.routes.delete(route.name)) this.events.emit('route-removed', route.name);
    for (const rule of fragment.rules)
      if (this.store.rules.delete(rule.name)) this.events.emit('rule-removed', rule.name);
    for (const rl of fragment.rulelists)
      if (this.store.rulelists.delete(rl.name)) this.events.emit('rulelist-removed', rl.name);
    for (const cluster of fragment.clusters) {
      if (this.store.clusters.has(cluster.name)) await this.removeCluster(cluster.name, true);
    }
  }

  private registerCluster(cluster: ClusterEntry): void {
    this.store.clusters.set(cluster.name, cluster);
    this.metrics.clusterAdded(cluster.name, cluster.spec.protocol, cluster.stats);
    this.events.emit('cluster-added', cluster.name);
    for (const endpoint of cluster.endpoints.values()) {
      this.store.endpoints.set(endpoint.name, endpoint);
      this.metrics.endpointAdded(cluster.name, endpoint.name, endpoint.stats);
      this.events.emit('endpoint-added', endpoint.name, cluster.name);
    }
  }

  // ---------------------------------------------------------------- reading

  getListener(name: string, options: DumpOptions = {}): ReturnType<typeof dumpListener> {
    const entry = this.store.listeners.get(name);
    if (entry === undefined) throw new NotFoundError(`No such listener: ${name}`);
    return dumpListener(this.store, entry, options);
  }

  listListeners(options: DumpOptions = {}): ReturnType<typeof dumpListener>[] {
    return [...this.store.listeners.values()].map((l) => dumpListener(this.store, l, options));
  }

  /** The bound address of a listener (handy after binding port 0). */
  listenerAddress(name: string): ReturnType<NonNullable<ListenerTransport['address']>> {
    const entry = this.store.listeners.get(name);
    if (entry === undefined) throw new NotFoundError(`No such listener: ${name}`);
    return entry.transport.address?.();
  }

  getCluster(name: string, options: DumpOptions = {}): ReturnType<typeof dumpCluster> {
    const entry = this.store.clusters.get(name);
    if (entry === undefined) throw new NotFoundError(`No such cluster: ${name}`);
    return dumpCluster(this.store, entry, options);
  }

  listClusters(options: DumpOptions = {}): ReturnType<typeof dumpCluster>[] {
    return [...this.store.clusters.values()].map((c) => dumpCluster(this.store, c, options));
  }

  getEndpoint(name: string): ReturnType<typeof dumpEndpoint> {
    const entry = this.store.endpoints.get(name);
    if (entry === undefined) throw new NotFoundError(`No such endpoint: ${name}`);
    return dumpEndpoint(entry);
  }

  /** Endpoints of one cluster, or of every cluster. */
  listEndpoints(clusterName?: string): ReturnType<typeof dumpEndpoint>[] {
    if (clusterName === undefined) return [...this.store.endpoints.values()].map(dumpEndpoint);
    const cluster = this.store.clusters.get(clusterName);
    if (cluster === undefined) throw new NotFoundError(`No such cluster: ${clusterName}`);
    return [...cluster.endpoints.values()].map(dumpEndpoint);
  }

  getRuleList(name: string, options: DumpOptions = {}): ReturnType<typeof dumpRuleList> {
    const entry = this.store.rulelists.get(name);
    if (entry === undefined) throw new NotFoundError(`No such rule list: ${name}`);
    return dumpRuleList(this.store, entry, options);
  }

  listRuleLists(options: DumpOptions = {}): ReturnType<typeof dumpRuleList>[] {
    return [...this.store.rulelists.values()].map((rl) => dumpRuleList(this.store, rl, options));
  }

  /** The rule at `position` of a RuleList. */
  getRuleFromRuleList(
    rulelistName: string,
    position: number,
    options: DumpOptions = {},
  ): ReturnType<typeof dumpRule> {
    const rulelist = this.store.rulelists.get(rulelistName);
    if (rulelist === undefined) throw new NotFoundError(`No such rule list: ${rulelistName}`);
    const ruleName = Number.isInteger(position) ? rulelist.rules[position] : undefined;
    if (ruleName === undefined)
      throw new NotFoundError(`No rule at position ${position} in RuleList "${rulelistName}"`);
    const rule = this.store.rules.get(ruleName);
    if (rule === undefined)
      throw new NotFoundError(`Cannot find named rule "${ruleName}" in RuleList "${rulelistName}"`);
    return dumpRule(this.store, rule, options);
  }

  getRule(name: string, options: DumpOptions = {}): ReturnType<typeof dumpRule> {
    const entry = this.store.rules.get(name);
    if (entry === undefined) throw new NotFoundError(`No such rule: ${name}`);
    return dumpRule(this.store, entry, options);
  }

  listRules(options: DumpOptions = {}): ReturnType<typeof dumpRule>[] {
    return [...this.store.rules.values()].map((r) => dumpRule(this.store, r, options));
  }

  getRoute(name: string, options: DumpOptions = {}): ReturnType<typeof dumpRoute> {
    const entry = this.store.routes.get(name);
    if (entry === undefined) throw new NotFoundError(`No such route: ${name}`);
    return dumpRoute(this.store, entry, options);
  }

  listRoutes(options: DumpOptions = {}): ReturnType<typeof dumpRoute>[] {
    return [...this.store.routes.values()].map((r) => dumpRoute(this.store, r, options));
  }

  /** `GET /config`: every object's non-recursive dump, plus endpoints and sessions. */
  getConfig(): Record<string, unknown> {
    return {
      admin: this.getAdmin(),
      listeners: this.listListeners(),
      clusters: this.listClusters(),
      rulelists: this.listRuleLists(),
      rules: this.listRules(),
      routes: this.listRoutes(),
      endpoints: this.listEndpoints(),
      sessions: this.sessions(),
    };
  }

  /** The loaded objects as a config document that `applyConfig` accepts. */
  dumpConfig(options: { embed?: boolean } = {}): ConfigDocument {
    return dumpFlatConfig(flatConfig(this.store), options);
  }

  // ---------------------------------------------------------------- admin

  getAdmin(): AdminDump {
    const admin = this.store.admin;
    return {
      log_level: admin.log_level ?? this.logger.level,
      strict: admin.strict ?? false,
      offload: false,
      version: PROXY_VERSION,
      ...(admin.log_file !== undefined ? { log_file: admin.log_file } : {}),
      ...(admin.access_log_path !== undefined ? { access_log_path: admin.access_log_path } : {}),
    };
  }

  /** Validates and stores admin settings; `log_level` changes the logger's level. */
  applyAdmin(input: unknown): AdminDump {
    const admin = parseOrThrow(AdminSchema, input, 'Cannot apply admin');
    const { version: _ignored, ...settings } = admin;
    if (settings.log_level !== undefined) {
      this.logger.level = pinoLevel(settings.log_level);
    }
    this.store.admin = { ...this.store.admin, ...settings };
    return this.getAdmin();
  }

  // ---------------------------------------------------------------- deleting

  async deleteListener(name: string, options: DeleteOptions = {}): Promise<void> {
    const entry = this.store.listeners.get(name);
    if (entry === undefined) throw new NotFoundError(`Cannot delete listener: Unknown listener "${name}"`);
    this.store.listeners.delete(name);
    if (options.recursive === true) {
      const rulelist = this.store.rulelists.get(entry.rules);
      if (rulelist?.generated === true) await this.removeRuleList(rulelist.name, true);
      this.endSessions((s) => s.listener === name, 'Listener deleted');
    }
    this.metrics.listenerRemoved(name);
    this.events.emit('listener-removed', name);
    await entry.transport.close().catch((error: unknown) => this.logCloseError('listener', name, error));
  }

  async deleteCluster(name: string, options: DeleteOptions = {}): Promise<void> {
    if (!this.store.clusters.has(name))
      throw new NotFoundError(`Cannot delete cluster: Unknown cluster "${name}"`);
    await this.removeCluster(name, options.recursive === true);
  }

  deleteEndpoint(name: string, options: DeleteOptions = {}): void {
    const entry = this.store.endpoints.get(name);
    if (entry === undefined) throw new NotFoundError(`Cannot delete endpoint: Unknown endpoint "${name}"`);
    this.removeEndpoint(entry.cluster, name, options.recursive === true);
  }

  async deleteRuleList(name: string, options: DeleteOptions = {}): Promise<void> {
    if (!this.store.rulelists.has(name))
      throw new NotFoundError(`Cannot delete rulelist: Unknown rulelist "${name}"`);
    await this.removeRuleList(name, options.recursive === true);
  }

  async deleteRule(name: string, options: DeleteOptions = {}): Promise<void> {
    if (!this.store.rules.has(name)) throw new NotFoundError(`Cannot delete rule: Unknown rule "${name}"`);
    await this.removeRule(name, options.recursive === true);
  }

  async deleteRoute(name: string, options: DeleteOptions = {}): Promise<void> {
    if (!this.store.routes.has(name)) throw new NotFoundError(`Cannot delete route: Unknown route "${name}"`);
    await this.removeRoute(name, options.recursive === true);
  }

  /**
   * Removes a rule from a RuleList by position (a number or an integer string) or by name;
   * `recursive` also deletes the rule itself with what it embedded.
   */
  async deleteRuleFromRuleList(
    rulelistName: string,
    positionOrName: number | string,
    options: DeleteOptions = {},
  ): Promise<void> {
    const rulelist = this.store.rulelists.get(rulelistName);
    if (rulelist === undefined) throw new NotFoundError(`No such rule list: ${rulelistName}`);
    let index: number;
    if (typeof positionOrName === 'number' || /^-?\d+$/.test(positionOrName)) {
      index = Number(positionOrName);
      if (!Number.isInteger(index) || index < 0 || index >= rulelist.rules.length) {
        throw new NotFoundError(`No rule at position ${positionOrName} in RuleList "${rulelistName}"`);
      }
    } else {
      index = rulelist.rules.indexOf(positionOrName);
      if (index < 0) throw new NotFoundError(`No rule ${positionOrName} on rulelist ${rulelistName}`);
    }
    const [ruleName] = rulelist.rules.splice(index, 1);
    if (options.recursive === true && ruleName !== undefined && this.store.rules.has(ruleName)) {
      await this.removeRule(ruleName, true);
    }
  }

  private async removeCluster(name: string, recursive: boolean): Promise<void> {
    const entry = this.store.clusters.get(name);
    if (entry === undefined) return;
    if (recursive) this.endSessions((s) => s.traverses(name), 'Traversed cluster deleted');
    for (const endpoint of [...entry.endpoints.keys()]) this.removeEndpoint(name, endpoint, recursive);
    this.store.clusters.delete(name);
    this.metrics.clusterRemoved(name);
    this.events.emit('cluster-removed', name);
    await entry.transport.close?.().catch((error: unknown) => this.logCloseError('cluster', name, error));
  }

  private removeEndpoint(clusterName: string, name: string, recursive: boolean): void {
    const cluster = this.store.clusters.get(clusterName);
    this.store.endpoints.delete(name);
    if (cluster !== undefined && cluster.endpoints.delete(name)) refreshBalancer(cluster);
    this.metrics.endpointRemoved(clusterName, name);
    this.events.emit('endpoint-removed', name, clusterName);
    if (recursive)
      for (const session of [...this.liveSessions.values()]) session.endpointRemoved(clusterName, name);
  }

  /** A recursive delete removes only the rules the RuleList embedded (generated ones). */
  private async removeRuleList(name: string, recursive: boolean): Promise<void> {
    const entry = this.store.rulelists.get(name);
    if (entry === undefined) return;
    this.store.rulelists.delete(name);
    this.events.emit('rulelist-removed', name);
    if (!recursive) return;
    for (const ruleName of entry.rules) {
      if (this.store.rules.get(ruleName)?.generated === true) await this.removeRule(ruleName, true);
    }
  }

  private async removeRule(name: string, recursive: boolean): Promise<void> {
    const entry = this.store.rules.get(name);
    if (entry === undefined) return;
    this.store.rules.delete(name);
    this.events.emit('rule-removed', name);
    const routeName = entry.action.route;
    if (recursive && routeName !== undefined && this.store.routes.get(routeName)?.generated === true) {
      await this.removeRoute(routeName, true);
    }
  }

  private async removeRoute(name: string, recursive: boolean): Promise<void> {
    const entry = this.store.routes.get(name);
    if (entry === undefined) return;
    this.store.routes.delete(name);
    this.events.emit('route-removed', name);
    if (!recursive) return;
    for (const cluster of [entry.destination, ...entry.ingress, ...entry.egress]) {
      if (this.store.clusters.get(cluster)?.generated === true) await this.removeCluster(cluster, true);
    }
  }

  private logCloseError(kind: string, name: string, error: unknown): void {
    this.logger.warn({ [kind]: name, err: messageOf(error) }, `closing ${kind} "${name}" failed`);
  }

  // ---------------------------------------------------------------- sessions

  /** Dumps of every session, including ended ones kept by their listener's `track`. */
  sessions(): Record<string, unknown>[] {
    return [...this.liveSessions.values()].map((s) => s.toJSON());
  }

  getSession(name: string): Record<string, unknown> {
    return this.requireSession(name).toJSON();
  }

  /** The session object itself, for applications that observe it. */
  findSession(name: string): Session | undefined {
    return this.liveSessions.get(name);
  }

  /** Ends a session (anchor: "Session removed from the API"). */
  deleteSession(name: string): void {
    this.requireSession(name).end('Session removed from the API');
  }

  private requireSession(name: string): Session {
    const session = this.liveSessions.get(name);
    if (session === undefined) throw new NotFoundError(`No such session: ${name}`);
    return session;
  }

  private endSessions(which: (session: Session) => boolean, message: string): void {
    for (const session of [...this.liveSessions.values()]) if (which(session)) session.end(message);
  }

  /** `name`, or `name_1`, `name_2`... if a listed session has it. */
  private uniqueSessionName(name: string): string {
    if (!this.liveSessions.has(name)) return name;
    for (let i = 1; ; i++) {
      const candidate = `${name}_${i}`;
      if (!this.liveSessions.has(candidate)) return candidate;
    }
  }

  /** ListenerContext.accept: never throws; every failure is an AcceptResult. */
  private async accept(listenerName: string, connection: IncomingConnection): Promise<AcceptResult> {
    if (this.closing !== undefined) {
      const result = { ok: false, status: 503, message: 'Proxy is closing' };
      try {
        connection.reject?.(result);
      } finally {
        connection.conduit.destroy();
      }
      return result;
    }
    try {
      const listener = this.store.listeners.get(listenerName);
      if (listener !== undefined) this.metrics.listenerRequest(listenerName, listener.spec.protocol);
      const name = this.uniqueSessionName(
        typeof connection.name === 'string' && connection.name !== ''
          ? connection.name
          : `${listenerName}-session`,
      );
      const session = new Session(this.host, name, listenerName, connection);
      this.liveSessions.set(name, session);
      this.metrics.sessionStarted(listenerName);
      this.events.emit('session-start', session);
      return await session.start();
    } catch (error) {
      this.logger.error({ listener: listenerName, err: error }, 'session setup crashed');
      const result = { ok: false, status: 500, message: messageOf(error) };
      try {
        connection.conduit.destroy();
      } catch {
        // The conduit is gone either way.
      }
      return result;
    }
  }

  private sessionDestroyed(session: Session, trackSeconds: number): void {
    this.metrics.sessionEnded(session.listener);
    this.metrics.sessionRemoved(session.name);
    this.events.emit('session-destroy', session);
    if (trackSeconds > 0 && this.closing === undefined) {
      const timer = setTimeout(() => this.forgetSession(session), trackSeconds * 1000);
      timer.unref();
      this.trackTimers.set(session, timer);
    } else {
      this.forgetSession(session);
    }
  }

  private forgetSession(session: Session): void {
    const timer = this.trackTimers.get(session);
    if (timer !== undefined) clearTimeout(timer);
    this.trackTimers.delete(session);
    if (this.liveSessions.get(session.name) === session) this.liveSessions.delete(session.name);
  }

  // ---------------------------------------------------------------- closing

  private assertOpen(): void {
    if (this.closing !== undefined) throw new L7mpError('The proxy is closed', { status: 503 });
  }

  /**
   * Ends every session, closes every listener and cluster and resolves once every socket is
   * released. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const listeners = [...this.store.listeners.values()];
    this.store.listeners.clear();
    // Stop accepting before ending sessions so no new session slips in.
    await Promise.allSettled(
      listeners.map((l) =>
        l.transport.close().catch((error: unknown) => this.logCloseError('listener', l.name, error)),
      ),
    );
    for (const session of [...this.liveSessions.values()]) session.destroyNow();
    for (const session of [...this.lingeringSessions]) session.destroyNow();
    for (const session of [...this.trackTimers.keys()]) this.forgetSession(session);
    this.liveSessions.clear();
    const clusters = [...this.store.clusters.values()];
    this.store.clusters.clear();
    this.store.endpoints.clear();
    await Promise.allSettled(clusters.map((c) => c.transport.close?.()));
    for (const l of listeners) this.metrics.listenerRemoved(l.name);
    for (const c of clusters) this.metrics.clusterRemoved(c.name);
    this.store.rulelists.clear();
    this.store.rules.clear();
    this.store.routes.clear();
    this.events.removeAll();
  }
}

/** Creates a proxy; the built-in transforms (Echo, Discard, Logger...) are always available. */
export function createProxy(options: ProxyOptions = {}): Proxy {
  return new Proxy(options);
}
