import type { V1Pod } from '@kubernetes/client-node';
import {
  canonicalObjectName,
  ConfigValidationError,
  CrdConversionError,
  InvalidReferenceError,
  linkedVirtualServiceOf,
  parseManifest,
  ruleResourceToProxy,
  targetToProxy,
  virtualServiceToProxy,
  type CrdKind,
  type EndpointSelector,
  type L7mpResource,
  type ProxyCluster,
  type ProxyEndpoint,
  type ProxyListener,
  type RuleResource,
  type Selector,
  type Target,
  type VirtualService,
} from '@l7mp/config';
import { isLivePod, isPodReady, podKey, proxyApiAddress } from './pods';
import { selectorMatches, ServiceIndex, type SelectorContext } from './selector';
import {
  RenderCache,
  type ClusterSnapshot,
  type DesiredState,
  type OwnedRule,
  type ProxyDesiredConfig,
  type RenderOptions,
  type ResourceVerdict,
  type VerdictReason,
} from './types';

const DEFAULT_API_PORT = 1234;

interface RawMeta {
  name?: unknown;
  namespace?: unknown;
  uid?: unknown;
  generation?: unknown;
  resourceVersion?: unknown;
  creationTimestamp?: unknown;
}

const metaOf = (raw: unknown): RawMeta =>
  raw !== null && typeof raw === 'object' && typeof (raw as { metadata?: unknown }).metadata === 'object'
    ? ((raw as { metadata: RawMeta }).metadata ?? {})
    : {};
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A resource that passed validation, with what rendering needs about it. */
interface Parsed<T extends L7mpResource> {
  readonly resource: T;
  readonly namespace: string;
  readonly canonicalName: string;
  readonly created: string;
}

type ParseOutcome<T extends L7mpResource> = { ok: true; parsed: Parsed<T> } | { ok: false; message: string };

function describeError(error: unknown): { reason: VerdictReason; message: string } {
  if (error instanceof InvalidReferenceError) return { reason: 'InvalidReference', message: error.message };
  if (error instanceof ConfigValidationError) {
    const refIssue = error.issues.find((i) => i.message.startsWith('invalid reference'));
    return {
      reason: refIssue !== undefined ? 'InvalidReference' : 'Invalid',
      message: error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    };
  }
  if (error instanceof CrdConversionError) return { reason: 'Invalid', message: error.message };
  return { reason: 'Invalid', message: error instanceof Error ? error.message : String(error) };
}

function parseResource<T extends L7mpResource>(
  raw: unknown,
  kind: CrdKind,
  cache: RenderCache,
  used: Set<string>,
): { outcome: ParseOutcome<T>; reason: VerdictReason } {
  const meta = metaOf(raw);
  const namespace = str(meta.namespace) ?? 'default';
  const name = str(meta.name) ?? '';
  // uid+generation identify the spec (status writes change only the resourceVersion);
  // objects without them (tests) are not cached.
  const uid = str(meta.uid);
  const rv = typeof meta.generation === 'number' ? String(meta.generation) : undefined;
  const compute = () => {
    try {
      const resource = parseManifest(raw) as T;
      if (resource.kind !== kind) throw new CrdConversionError(`expected a ${kind}, got a ${resource.kind}`);
      return {
        outcome: {
          ok: true as const,
          parsed: {
            resource,
            namespace,
            canonicalName: canonicalObjectName(kind, namespace, name),
            created: String(meta.creationTimestamp ?? ''),
          },
        },
        reason: 'Accepted' as VerdictReason,
      };
    } catch (error) {
      const { reason, message } = describeError(error);
      return { outcome: { ok: false as const, message }, reason };
    }
  };
  if (uid === undefined || rv === undefined) return compute();
  const key = `${uid}@${rv}`;
  used.add(key);
  return cache.get(key, compute);
}

/** Oldest first, then by name: the order in which resources win conflicts. */
const byAge = <T extends { created: string; canonicalName: string }>(a: T, b: T) =>
  a.created < b.created ? -1 : a.created > b.created ? 1 : a.canonicalName < b.canonicalName ? -1 : 1;

interface ProxyBuilder {
  readonly pod: V1Pod;
  readonly listeners: ProxyListener[];
  readonly clusters: ProxyCluster[];
  readonly rules: OwnedRule[];
  readonly resources: Set<string>;
  readonly ports: Map<string, string>;
}

/** The port key a listener occupies on its pod, or undefined when it takes no port. */
function listenerPortKey(listener: ProxyListener): string | undefined {
  const spec = listener.spec as {
    protocol: string;
    port?: unknown;
    transport?: { port?: unknown; protocol?: string };
  };
  const port = spec.port ?? spec.transport?.port;
  if (typeof port !== 'number' || port === 0) return undefined;
  const transport = spec.transport?.protocol ?? spec.protocol;
  // UDP and the TCP-based protocols use separate port spaces.
  return `${transport === 'UDP' ? 'udp' : 'tcp'}:${port}`;
}

/** Puts resolved endpoints into every cluster of `root` named `clusterName` (inline clusters included). */
function injectEndpoints(root: unknown, clusterName: string, endpoints: ProxyEndpoint[]): void {
  if (Array.isArray(root)) {
    for (const item of root) injectEndpoints(item, clusterName, endpoints);
    return;
  }
  if (root === null || typeof root !== 'object') return;
  const obj = root as Record<string, unknown>;
  if (obj.name === clusterName && Array.isArray(obj.endpoints)) {
    obj.endpoints = [...(obj.endpoints as ProxyEndpoint[]), ...endpoints];
    return;
  }
  for (const value of Object.values(obj)) injectEndpoints(value, clusterName, endpoints);
}

/**
 * Renders the complete desired state: for every proxy pod the objects the operator owns on it, and
 * for every custom resource whether it is valid and which proxies run it. Pure: no I/O, and the
 * same snapshot always gives the same result.
 */
export function renderDesiredState(snapshot: ClusterSnapshot, options: RenderOptions = {}): DesiredState {
  const apiPort = options.apiPort ?? DEFAULT_API_PORT;
  const cache = options.cache ?? new RenderCache();
  const used = new Set<string>();
  const services = new ServiceIndex(snapshot.endpoints);
  const livePods = snapshot.pods.filter(isLivePod);
  const readyPods = livePods.filter(isPodReady);
  const resources = new Map<string, ResourceVerdict>();
  const proxies = new Map<string, ProxyBuilder>();

  const verdict = (
    raw: unknown,
    kind: CrdKind,
    fields: { accepted: boolean; reason: VerdictReason; message: string; proxies?: string[] },
  ): ResourceVerdict => {
    const meta = metaOf(raw);
    const namespace = str(meta.namespace) ?? 'default';
    const name = str(meta.name) ?? '';
    const v: ResourceVerdict = {
      kind,
      namespace,
      name,
      canonicalName: canonicalObjectName(kind, namespace, name),
      uid: str(meta.uid),
      generation: typeof meta.generation === 'number' ? meta.generation : undefined,
      accepted: fields.accepted,
      reason: fields.reason,
      message: fields.message,
      proxies: fields.proxies ?? [],
      problems: [],
    };
    resources.set(v.canonicalName, v);
    return v;
  };

  // Live pods by `<label key>=<value>`, built on first use. A selector with matchLabels needs only
  // look at the pods carrying one of its pairs, not at every pod: a render checks each resource.
  let labelIndex: Map<string, V1Pod[]> | undefined;
  const candidatesOf = (selector: Selector): readonly V1Pod[] => {
    const pairs = Object.entries(selector.matchLabels ?? {});
    if (pairs.length === 0) return livePods;
    if (labelIndex === undefined) {
      labelIndex = new Map();
      for (const pod of livePods) {
        for (const [key, value] of Object.entries(pod.metadata?.labels ?? {})) {
          const pairKey = `${key}\0${value}`;
          const list = labelIndex.get(pairKey);
          if (list === undefined) labelIndex.set(pairKey, [pod]);
          else list.push(pod);
        }
      }
    }
    let smallest: readonly V1Pod[] | undefined;
    for (const [key, value] of pairs) {
      const list = labelIndex.get(`${key}\0${value}`) ?? [];
      if (smallest === undefined || list.length < smallest.length) smallest = list;
    }
    // Lists keep the order of livePods, so the selection is the same as a full scan's.
    return smallest ?? livePods;
  };

  const selectProxies = (selector: Selector | undefined, namespace: string): ProxyBuilder[] => {
    if (selector === undefined) return [];
    const ctx: SelectorContext = { namespace, services };
    const selected: ProxyBuilder[] = [];
    for (const pod of candidatesOf(selector)) {
      if (!selectorMatches(selector, pod, ctx)) continue;
      const key = podKey(pod);
      let builder = proxies.get(key);
      if (builder === undefined) {
        builder = { pod, listeners: [], clusters: [], rules: [], resources: new Set(), ports: new Map() };
        proxies.set(key, builder);
      }
      selected.push(builder);
    }
    return selected;
  };

  // Dynamic endpoints of one selector are the same for every proxy: resolve each selector once.
  const endpointCache = new Map<string, string[]>();
  const readyIPs = (selector: Selector, namespace: string): string[] => {
    const cacheKey = `${namespace}\0${JSON.stringify(selector)}`;
    let ips = endpointCache.get(cacheKey);
    if (ips === undefined) {
      const ctx: SelectorContext = { namespace, services };
      // Pods sharing an IP (hostNetwork) collapse into one endpoint.
      ips = [
        ...new Set(
          readyPods.filter((p) => selectorMatches(selector, p, ctx)).map((p) => p.status?.podIP ?? ''),
        ),
      ].sort();
      endpointCache.set(cacheKey, ips);
    }
    return ips;
  };
  const dynamicEndpoints = (sel: EndpointSelector): ProxyEndpoint[] =>
    readyIPs(sel.selector, sel.namespace).map((ip) => ({
      name: `${sel.cluster}/${ip}`,
      spec: { address: ip },
    }));
  const resolveSelectors = (root: unknown, selectors: readonly EndpointSelector[]) => {
    for (const sel of selectors) injectEndpoints(root, sel.cluster, dynamicEndpoints(sel));
  };

  // ---------------------------------------------------------------- parse everything
  const parseAll = <T extends L7mpResource>(raws: readonly unknown[], kind: CrdKind) => {
    const ok: { raw: unknown; parsed: Parsed<T> }[] = [];
    for (const raw of raws) {
      const { outcome, reason } = parseResource<T>(raw, kind, cache, used);
      if (outcome.ok) ok.push({ raw, parsed: outcome.parsed });
      else verdict(raw, kind, { accepted: false, reason, message: outcome.message });
    }
    return ok.sort((a, b) => byAge(a.parsed, b.parsed));
  };
  const virtualServices = parseAll<VirtualService>(snapshot.virtualServices, 'VirtualService');
  const targets = parseAll<Target>(snapshot.targets, 'Target');
  const rules = parseAll<RuleResource>(snapshot.rules, 'Rule');
  const vsvcByName = new Map(virtualServices.map((v) => [v.parsed.canonicalName, v.parsed.resource]));
  const targetNames = new Set(targets.map((t) => t.parsed.canonicalName));

  const missingTargets = (converted: unknown): string[] => {
    const missing = new Set<string>();
    const visit = (value: unknown, key: string | undefined) => {
      if (typeof value === 'string') {
        if (
          (key === 'destination' || key === 'ingress' || key === 'egress') &&
          value.startsWith('/l7mp.io/v1/Target/') &&
          !targetNames.has(value)
        )
          missing.add(value);
        return;
      }
      if (Array.isArray(value)) value.forEach((v) => visit(v, key));
      else if (value !== null && typeof value === 'object')
        for (const [k, v] of Object.entries(value)) visit(v, k);
    };
    visit(converted, undefined);
    return [...missing];
  };
  const referenceNote = (converted: unknown): string => {
    const missing = missingTargets(converted);
    // The proxy binds names late, so the resource is programmed anyway and works once they appear.
    return missing.length > 0 ? `; referenced Target(s) not found yet: ${missing.join(', ')}` : '';
  };

  // ---------------------------------------------------------------- VirtualServices
  for (const { raw, parsed } of virtualServices) {
    try {
      const converted = virtualServiceToProxy(parsed.resource, parsed.namespace);
      const selected = selectProxies(parsed.resource.spec.selector, parsed.namespace);
      const v = verdict(raw, 'VirtualService', {
        accepted: true,
        reason: 'Accepted',
        message: `valid${referenceNote(converted.listener)}`,
        proxies: selected.map((p) => podKey(p.pod)),
      });
      for (const proxy of selected) {
        const listener = structuredClone(converted.listener);
        resolveSelectors(listener, converted.endpointSelectors);
        const portKey = listenerPortKey(listener);
        const holder = portKey !== undefined ? proxy.ports.get(portKey) : undefined;
        if (portKey !== undefined && holder !== undefined) {
          v.problems.push({
            proxy: podKey(proxy.pod),
            message: `port ${portKey.replace(':', ' ')} is already used by ${holder} on this proxy`,
          });
          continue;
        }
        if (portKey !== undefined) proxy.ports.set(portKey, parsed.canonicalName);
        proxy.listeners.push(listener);
        proxy.resources.add(parsed.canonicalName);
      }
    } catch (error) {
      const { reason, message } = describeError(error);
      verdict(raw, 'VirtualService', { accepted: false, reason, message });
    }
  }

  // ---------------------------------------------------------------- Targets
  for (const { raw, parsed } of targets) {
    const target = parsed.resource;
    try {
      let linked: VirtualService | undefined;
      const link = linkedVirtualServiceOf(target, parsed.namespace);
      if (link !== undefined) {
        linked = vsvcByName.get(canonicalObjectName('VirtualService', link.namespace, link.name));
        if (linked === undefined) {
          verdict(raw, 'Target', {
            accepted: false,
            reason: 'LinkedVirtualServiceNotFound',
            message: `linkedVirtualService ${JSON.stringify(target.spec.linkedVirtualService)}: no valid VirtualService ${link.namespace}/${link.name}`,
          });
          continue;
        }
      }
      const converted = targetToProxy(target, {
        ...(linked !== undefined ? { linkedVirtualService: linked } : {}),
        defaultNamespace: parsed.namespace,
      });
      if (target.spec.selector === undefined) {
        // Anchor bug §2.18.4 fixed: a Target without selector selects nothing and stops nothing.
        verdict(raw, 'Target', {
          accepted: true,
          reason: 'NoSelector',
          message: 'no spec.selector: selects no proxy',
        });
        continue;
      }
      const selected = selectProxies(target.spec.selector, parsed.namespace);
      verdict(raw, 'Target', {
        accepted: true,
        reason: 'Accepted',
        message: 'valid',
        proxies: selected.map((p) => podKey(p.pod)),
      });
      // Rendered once: the dynamic endpoints do not depend on the proxy.
      const cluster = structuredClone(converted.cluster);
      resolveSelectors(cluster, converted.endpointSelectors);
      for (const proxy of selected) {
        proxy.clusters.push(cluster);
        proxy.resources.add(parsed.canonicalName);
      }
    } catch (error) {
      const { reason, message } = describeError(error);
      verdict(raw, 'Target', { accepted: false, reason, message });
    }
  }

  // ---------------------------------------------------------------- Rules
  for (const { raw, parsed } of rules) {
    try {
      const converted = ruleResourceToProxy(parsed.resource, parsed.namespace);
      if (parsed.resource.spec.selector === undefined) {
        verdict(raw, 'Rule', {
          accepted: true,
          reason: 'NoSelector',
          message: 'no spec.selector: selects no proxy',
        });
        continue;
      }
      const selected = selectProxies(parsed.resource.spec.selector, parsed.namespace);
      verdict(raw, 'Rule', {
        accepted: true,
        reason: 'Accepted',
        message: `valid${referenceNote(converted.rule)}`,
        proxies: selected.map((p) => podKey(p.pod)),
      });
      const rule = structuredClone(converted.rule);
      resolveSelectors(rule, converted.endpointSelectors);
      for (const proxy of selected) {
        proxy.rules.push({ rulelist: converted.rulelist, position: converted.position, rule });
        proxy.resources.add(parsed.canonicalName);
      }
    } catch (error) {
      const { reason, message } = describeError(error);
      verdict(raw, 'Rule', { accepted: false, reason, message });
    }
  }

  if (options.cache !== undefined) cache.retainOnly(used);

  const desired = new Map<string, ProxyDesiredConfig>();
  for (const [key, b] of [...proxies.entries()].sort(([a], [c]) => (a < c ? -1 : 1))) {
    desired.set(key, {
      key,
      namespace: b.pod.metadata?.namespace ?? 'default',
      name: b.pod.metadata?.name ?? '',
      uid: b.pod.metadata?.uid,
      podIP: b.pod.status?.podIP ?? '',
      address: proxyApiAddress(b.pod, apiPort),
      owned: { listeners: b.listeners, clusters: b.clusters, rules: b.rules },
      resources: [...b.resources].sort(),
    });
  }
  return { proxies: desired, resources };
}
