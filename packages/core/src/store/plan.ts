import type { FlatCluster, FlatConfig, FlatEndpoint, FlatListener } from '@l7mp/config';

/** Key-order-independent equality of plain JSON values (configs are small; clarity wins). */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key];
    return sorted;
  });
}

const withoutGenerated = <T extends { generated: boolean }>({ generated: _generated, ...rest }: T) => rest;

/** What happens to one cluster when a config is replaced. */
export interface ClusterChange {
  name: string;
  /** `recreate`: the spec changed, so the transport is rebuilt; `update`: only endpoints or the load balancer. */
  kind: 'add' | 'remove' | 'recreate' | 'update';
  desired?: FlatCluster;
  loadbalancerChanged: boolean;
  addedEndpoints: FlatEndpoint[];
  removedEndpoints: string[];
}

export interface ListenerChange {
  name: string;
  /** `recreate`: the spec changed (re-bind); `update`: only its rulelist name or options. */
  kind: 'add' | 'remove' | 'recreate' | 'update';
  desired?: FlatListener;
}

export interface DataChanges<T> {
  set: T[];
  remove: string[];
}

/** The difference between the running config and a desired one, object by object. */
export interface ReplacePlan {
  listeners: ListenerChange[];
  clusters: ClusterChange[];
  rulelists: DataChanges<FlatConfig['rulelists'][number]>;
  rules: DataChanges<FlatConfig['rules'][number]>;
  routes: DataChanges<FlatConfig['routes'][number]>;
  adminChanged: boolean;
  unchanged: number;
}

export function planIsEmpty(plan: ReplacePlan): boolean {
  return (
    plan.listeners.length === 0 &&
    plan.clusters.length === 0 &&
    plan.rulelists.set.length + plan.rulelists.remove.length === 0 &&
    plan.rules.set.length + plan.rules.remove.length === 0 &&
    plan.routes.set.length + plan.routes.remove.length === 0 &&
    !plan.adminChanged
  );
}

function byName<T extends { name: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((item) => [item.name, item]));
}

function planData<T extends { name: string; generated: boolean }>(
  current: readonly T[],
  desired: readonly T[],
  counter: { unchanged: number },
): DataChanges<T> {
  const before = byName(current);
  const after = byName(desired);
  const changes: DataChanges<T> = { set: [], remove: [] };
  for (const [name, item] of after) {
    const old = before.get(name);
    if (old !== undefined && sameValue(withoutGenerated(old), withoutGenerated(item))) counter.unchanged++;
    else changes.set.push(item);
  }
  for (const name of before.keys()) if (!after.has(name)) changes.remove.push(name);
  return changes;
}

function planClusters(
  current: readonly FlatCluster[],
  desired: readonly FlatCluster[],
  counter: { unchanged: number },
) {
  const before = byName(current);
  const changes: ClusterChange[] = [];
  for (const cluster of desired) {
    const old = before.get(cluster.name);
    if (old === undefined) {
      changes.push({
        name: cluster.name,
        kind: 'add',
        desired: cluster,
        loadbalancerChanged: false,
        addedEndpoints: [],
        removedEndpoints: [],
      });
      continue;
    }
    if (!sameValue(old.spec, cluster.spec)) {
      changes.push({
        name: cluster.name,
        kind: 'recreate',
        desired: cluster,
        loadbalancerChanged: true,
        addedEndpoints: [],
        removedEndpoints: [],
      });
      continue;
    }
    const loadbalancerChanged = !sameValue(old.loadbalancer ?? null, cluster.loadbalancer ?? null);
    const oldEndpoints = byName(old.endpoints);
    const newEndpoints = byName(cluster.endpoints);
    const addedEndpoints: FlatEndpoint[] = [];
    const removedEndpoints: string[] = [];
    for (const [name, endpoint] of newEndpoints) {
      const previous = oldEndpoints.get(name);
      if (previous === undefined) addedEndpoints.push(endpoint);
      else if (!sameValue(withoutGenerated(previous), withoutGenerated(endpoint))) {
        removedEndpoints.push(name);
        addedEndpoints.push(endpoint);
      }
    }
    for (const name of oldEndpoints.keys()) if (!newEndpoints.has(name)) removedEndpoints.push(name);
    if (!loadbalancerChanged && addedEndpoints.length === 0 && removedEndpoints.length === 0) {
      counter.unchanged++;
      continue;
    }
    changes.push({
      name: cluster.name,
      kind: 'update',
      desired: cluster,
      loadbalancerChanged,
      addedEndpoints,
      removedEndpoints,
    });
  }
  const wanted = new Set(desired.map((c) => c.name));
  for (const name of before.keys()) {
    if (!wanted.has(name))
      changes.push({
        name,
        kind: 'remove',
        loadbalancerChanged: false,
        addedEndpoints: [],
        removedEndpoints: [],
      });
  }
  return changes;
}

function planListeners(
  current: readonly FlatListener[],
  desired: readonly FlatListener[],
  counter: { unchanged: number },
) {
  const before = byName(current);
  const changes: ListenerChange[] = [];
  for (const listener of desired) {
    const old = before.get(listener.name);
    if (old === undefined) changes.push({ name: listener.name, kind: 'add', desired: listener });
    else if (!sameValue(old.spec, listener.spec))
      changes.push({ name: listener.name, kind: 'recreate', desired: listener });
    else if (old.rules !== listener.rules || !sameValue(old.options, listener.options)) {
      changes.push({ name: listener.name, kind: 'update', desired: listener });
    } else counter.unchanged++;
  }
  const wanted = new Set(desired.map((l) => l.name));
  for (const name of before.keys()) if (!wanted.has(name)) changes.push({ name, kind: 'remove' });
  return changes;
}

/**
 * Compares the running config with the desired one. Objects are matched by name; `generated`
 * flags do not count as a difference, so a dumped config put back changes nothing.
 */
export function planReplace(current: FlatConfig, desired: FlatConfig): ReplacePlan {
  const counter = { unchanged: 0 };
  const plan: ReplacePlan = {
    listeners: planListeners(current.listeners, desired.listeners, counter),
    clusters: planClusters(current.clusters, desired.clusters, counter),
    rulelists: planData(current.rulelists, desired.rulelists, counter),
    rules: planData(current.rules, desired.rules, counter),
    routes: planData(current.routes, desired.routes, counter),
    adminChanged: false,
    unchanged: 0,
  };
  if (desired.admin !== undefined) {
    const { version: _v, ...wantedAdmin } = desired.admin;
    const currentAdmin = current.admin ?? {};
    plan.adminChanged = Object.entries(wantedAdmin).some(
      ([key, value]) => !sameValue((currentAdmin as Record<string, unknown>)[key] ?? null, value ?? null),
    );
  }
  plan.unchanged = counter.unchanged;
  return plan;
}

/** What `PUT /api/v1/config` reports: the names of what changed, per kind. */
export interface ReplaceSummary {
  status: 200;
  message: 'OK';
  changed: boolean;
  added: Record<string, string[]>;
  updated: Record<string, string[]>;
  removed: Record<string, string[]>;
  unchanged: number;
}

export function summarise(plan: ReplacePlan): ReplaceSummary {
  const added: Record<string, string[]> = {};
  const updated: Record<string, string[]> = {};
  const removed: Record<string, string[]> = {};
  const note = (target: Record<string, string[]>, kind: string, name: string) =>
    (target[kind] ??= []).push(name);
  for (const change of plan.listeners) {
    note(
      change.kind === 'add' ? added : change.kind === 'remove' ? removed : updated,
      'listeners',
      change.name,
    );
  }
  for (const change of plan.clusters) {
    note(
      change.kind === 'add' ? added : change.kind === 'remove' ? removed : updated,
      'clusters',
      change.name,
    );
  }
  for (const kind of ['rulelists', 'rules', 'routes'] as const) {
    for (const item of plan[kind].set) note(updated, kind, item.name);
    for (const name of plan[kind].remove) note(removed, kind, name);
  }
  if (plan.adminChanged) note(updated, 'admin', 'admin');
  return {
    status: 200,
    message: 'OK',
    changed: !planIsEmpty(plan),
    added,
    updated,
    removed,
    unchanged: plan.unchanged,
  };
}
