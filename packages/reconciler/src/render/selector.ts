import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';
import type { FieldSelectorRequirement, LabelSelectorRequirement, Selector } from '@l7mp/config';
import { readyTargetsOf } from './pods';

/** What a selector needs besides the pod: the namespace of the CR and the Services' Endpoints. */
export interface SelectorContext {
  /** Namespace of the resource the selector is written in; a bare matchService names a Service there. */
  readonly namespace: string;
  readonly services: ServiceIndex;
}

/** Ready pods behind each Service, by `<namespace>/<service name>`. */
export class ServiceIndex {
  private readonly targets = new Map<string, { uids: Set<string>; names: Set<string> }>();

  constructor(endpoints: readonly V1Endpoints[]) {
    for (const ep of endpoints) {
      const key = `${ep.metadata?.namespace ?? 'default'}/${ep.metadata?.name ?? ''}`;
      this.targets.set(key, readyTargetsOf(ep));
    }
  }

  /** Whether the pod is a ready address of the service (`<name>` in `namespace`, or `<ns>/<name>`). */
  hasReadyPod(service: string, namespace: string, pod: V1Pod): boolean {
    const key = service.includes('/') ? service : `${namespace}/${service}`;
    const targets = this.targets.get(key);
    if (targets === undefined) return false;
    const uid = pod.metadata?.uid;
    if (uid !== undefined && targets.uids.has(uid)) return true;
    return targets.names.has(`${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`);
  }
}

function requirementHolds(
  value: string | undefined,
  req: LabelSelectorRequirement | FieldSelectorRequirement,
): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const bound = Number(values[0]);
      return req.operator === 'Gt' ? Number(value) > bound : Number(value) < bound;
    }
  }
}

/** The value at a dotted path in the pod object as a string, or undefined when missing. */
export function fieldOf(pod: V1Pod, path: string): string | undefined {
  let current: unknown = pod;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return undefined;
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  if (current instanceof Date) return current.toISOString();
  return JSON.stringify(current);
}

/**
 * Whether a selector selects a pod (anchor-operator §2.5): every given criterion must hold, an
 * empty selector selects every pod. matchService counts only the Service's ready addresses.
 */
export function selectorMatches(selector: Selector, pod: V1Pod, ctx: SelectorContext): boolean {
  const labels = pod.metadata?.labels ?? {};
  if (selector.matchLabels !== undefined) {
    for (const [key, value] of Object.entries(selector.matchLabels)) {
      if (labels[key] !== value) return false;
    }
  }
  for (const req of selector.matchExpressions ?? []) {
    if (!requirementHolds(labels[req.key], req)) return false;
  }
  for (const req of selector.matchFields ?? []) {
    if (!requirementHolds(fieldOf(pod, req.key), req)) return false;
  }
  if (selector.matchNamespace !== undefined && pod.metadata?.namespace !== selector.matchNamespace) {
    return false;
  }
  if (
    selector.matchService !== undefined &&
    !ctx.services.hasReadyPod(selector.matchService, ctx.namespace, pod)
  ) {
    return false;
  }
  return true;
}
