import { formatPath, type ObjectPath } from '../errors';
import type { LoadBalancer, RetryPolicy } from '../schema/objects';
import type { Predicate } from '../schema/predicate';
import type { ClusterSpec, ListenerSpec } from '../schema/protocols';
import { canonicalObjectName, parseReferenceOfKind, resolveReference } from './reference';
import type {
  CrdAction,
  CrdCluster,
  CrdClusterOrRef,
  CrdEndpoint,
  CrdListener,
  CrdRewrite,
  CrdRoute,
  CrdRule,
  RuleResource,
  Target,
  VirtualService,
} from './schema';
import type { Selector } from './selector';

// ---------------------------------------------------------------- proxy object forms (REST bodies)

export interface ProxyEndpoint {
  name?: string;
  spec: { address: string; port?: number };
  weight?: number;
}
export interface ProxyCluster {
  name?: string;
  spec: ClusterSpec;
  endpoints: ProxyEndpoint[];
  loadbalancer?: LoadBalancer;
  options?: Record<string, unknown>;
}
export type ProxyClusterRef = string | ProxyCluster;
export interface ProxyRetry {
  retry_on?: RetryPolicy;
  num_retries?: number;
  timeout?: number;
}
export interface ProxyRoute {
  name?: string;
  destination: ProxyClusterRef;
  ingress?: ProxyClusterRef[];
  egress?: ProxyClusterRef[];
  retry?: ProxyRetry;
}
export interface ProxyRewrite {
  path: string;
  value: unknown;
}
export interface ProxyAction {
  rewrite?: ProxyRewrite[];
  route?: string | ProxyRoute;
  apply?: string;
}
export interface ProxyRule {
  name?: string;
  match?: Predicate;
  action: ProxyAction;
}
export interface ProxyListener {
  name?: string;
  spec: ListenerSpec;
  rules: string | ProxyRule[];
  options?: { track?: number };
}

/**
 * Endpoints given by a pod selector: the operator resolves them to pod IPs and adds them to the
 * named proxy cluster (as `<cluster>/<podIP>`); the converted cluster carries only static ones.
 */
export interface EndpointSelector {
  /** The proxy cluster the endpoints belong to. */
  readonly cluster: string;
  readonly selector: Selector;
  /** Proxy name of the custom resource the selector is written in. */
  readonly source: string;
  /** Namespace of that resource. */
  readonly namespace: string;
  /** Where the selector is written in that resource. */
  readonly path: ObjectPath;
}

/** A custom resource that cannot be turned into proxy objects. */
export class CrdConversionError extends Error {
  readonly path: ObjectPath;

  constructor(message: string, path: ObjectPath = []) {
    super(path.length > 0 ? `${formatPath(path)}: ${message}` : message);
    this.name = 'CrdConversionError';
    this.path = path;
  }
}

/** What every conversion step needs: where it is, and where dynamic endpoints are collected. */
export interface ConversionContext {
  /** Namespace of the converted resource: bare references resolve in it. */
  readonly namespace: string;
  /** Path of the converted part within the resource, for messages and generated names. */
  readonly path: ObjectPath;
  /** Proxy name of the converted resource, the prefix of names generated for inline clusters. */
  readonly owner: string;
  /** Receives the selector endpoints met on the way. */
  readonly endpointSelectors: EndpointSelector[];
}

const at = (ctx: ConversionContext, ...segments: (string | number)[]): ConversionContext => ({
  ...ctx,
  path: [...ctx.path, ...segments],
});

// ---------------------------------------------------------------- parts

function staticEndpoint(ep: CrdEndpoint): ProxyEndpoint | undefined {
  if (ep.spec === undefined) return undefined;
  const address = ep.spec.address ?? ep.spec.filename;
  // The schema guarantees one of them; a hand-built object might not.
  if (address === undefined) return undefined;
  const weight = ep.weight ?? ep.spec.weight;
  return {
    ...(ep.name !== undefined ? { name: ep.name } : {}),
    spec: { address, ...(ep.spec.port !== undefined ? { port: ep.spec.port } : {}) },
    ...(weight !== undefined ? { weight } : {}),
  };
}

/**
 * A CR cluster in the proxy form: `filename` becomes `address`, selector endpoints are moved to
 * ctx.endpointSelectors. A cluster with selector endpoints needs a name for the operator to add
 * them to, so an unnamed one is named after its place in the resource.
 */
export function crdClusterToProxy(
  cluster: CrdCluster,
  ctx: ConversionContext,
  forcedName?: string,
): ProxyCluster {
  const endpoints: ProxyEndpoint[] = [];
  const selectors: { selector: Selector; path: ObjectPath }[] = [];
  (cluster.endpoints ?? []).forEach((ep, i) => {
    const converted = staticEndpoint(ep);
    if (converted !== undefined) endpoints.push(converted);
    else if (ep.selector !== undefined)
      selectors.push({ selector: ep.selector, path: [...ctx.path, 'endpoints', i, 'selector'] });
  });
  const generatedName = `${ctx.owner}/${ctx.path.join('/')}`;
  const name = forcedName ?? cluster.name ?? (selectors.length > 0 ? generatedName : undefined);
  for (const s of selectors) {
    ctx.endpointSelectors.push({
      cluster: name ?? generatedName,
      selector: s.selector,
      source: ctx.owner,
      namespace: ctx.namespace,
      path: s.path,
    });
  }
  return {
    ...(name !== undefined ? { name } : {}),
    spec: cluster.spec,
    endpoints,
    ...(cluster.loadbalancer !== undefined ? { loadbalancer: cluster.loadbalancer } : {}),
    ...(cluster.options !== undefined ? { options: cluster.options } : {}),
  };
}

function clusterOrRefToProxy(item: CrdClusterOrRef, ctx: ConversionContext): ProxyClusterRef {
  if (item.clusterRef !== undefined) {
    return resolveReference(item.clusterRef, {
      kind: 'Target',
      namespace: ctx.namespace,
      path: [...ctx.path, 'clusterRef'],
    });
  }
  if (item.cluster !== undefined) return crdClusterToProxy(item.cluster, at(ctx, 'cluster'));
  throw new CrdConversionError('needs "cluster" or "clusterRef"', ctx.path);
}

/** A CR route in the proxy form: destinationRef/clusterRef resolved to Target proxy names. */
export function crdRouteToProxy(route: CrdRoute, ctx: ConversionContext): ProxyRoute {
  let destination: ProxyClusterRef;
  if (route.destinationRef !== undefined) {
    destination = resolveReference(route.destinationRef, {
      kind: 'Target',
      namespace: ctx.namespace,
      path: [...ctx.path, 'destinationRef'],
    });
  } else if (route.destination !== undefined) {
    destination = crdClusterToProxy(route.destination, at(ctx, 'destination'));
  } else {
    throw new CrdConversionError('needs "destination" or "destinationRef"', ctx.path);
  }
  const chain = (key: 'ingress' | 'egress') =>
    route[key]?.map((item, i) => clusterOrRefToProxy(item, at(ctx, key, i)));
  const ingress = chain('ingress');
  const egress = chain('egress');
  return {
    ...(route.name !== undefined ? { name: route.name } : {}),
    destination,
    ...(ingress !== undefined ? { ingress } : {}),
    ...(egress !== undefined ? { egress } : {}),
    ...(route.retry !== undefined ? { retry: { ...route.retry } } : {}),
  };
}

function rewriteToProxy(rewrite: CrdRewrite): ProxyRewrite {
  // valueStr is the value as a string, used as given (as the anchor operator did).
  return { path: rewrite.path, value: rewrite.valueStr !== undefined ? rewrite.valueStr : rewrite.value };
}

function actionToProxy(action: CrdAction, ctx: ConversionContext): ProxyAction {
  const out: ProxyAction = {};
  if (action.rewrite !== undefined) out.rewrite = action.rewrite.map(rewriteToProxy);
  if (action.routeRef !== undefined) out.route = action.routeRef;
  else if (action.route !== undefined) out.route = crdRouteToProxy(action.route, at(ctx, 'route'));
  if (action.apply !== undefined) out.apply = action.apply;
  return out;
}

/** A CR rule in the proxy form. */
export function crdRuleToProxy(rule: CrdRule, ctx: ConversionContext): ProxyRule {
  return {
    ...(rule.name !== undefined ? { name: rule.name } : {}),
    ...(rule.match !== undefined ? { match: rule.match } : {}),
    action: actionToProxy(rule.action, at(ctx, 'action')),
  };
}

/** A CR listener in the proxy form: rulesRef becomes the `rules` string, inline rules converted. */
export function crdListenerToProxy(
  listener: CrdListener,
  ctx: ConversionContext,
  name?: string,
): ProxyListener {
  let rules: string | ProxyRule[];
  if (listener.rulesRef !== undefined) rules = listener.rulesRef;
  else if (listener.rules !== undefined)
    rules = listener.rules.map((r, i) => crdRuleToProxy(r, at(ctx, 'rules', i)));
  else throw new CrdConversionError('needs "rules" or "rulesRef"', ctx.path);
  const listenerName = name ?? listener.name;
  return {
    ...(listenerName !== undefined ? { name: listenerName } : {}),
    spec: listener.spec,
    rules,
    ...(listener.options !== undefined ? { options: { ...listener.options } } : {}),
  };
}

// ---------------------------------------------------------------- whole resources

const namespaceOf = (resource: { metadata: { namespace?: string | undefined } }, fallback: string) =>
  resource.metadata.namespace ?? fallback;

function rootContext(
  kind: 'VirtualService' | 'Target' | 'Rule',
  namespace: string,
  name: string,
  path: ObjectPath,
) {
  const owner = canonicalObjectName(kind, namespace, name);
  return { owner, ctx: { namespace, path, owner, endpointSelectors: [] as EndpointSelector[] } };
}

export interface ConvertedVirtualService {
  /** The proxy listener, named `/l7mp.io/v1/VirtualService/<ns>/<name>`. */
  readonly listener: ProxyListener;
  /** Selector endpoints of inline clusters in the listener's routes. */
  readonly endpointSelectors: EndpointSelector[];
}

/** A VirtualService as the listener to add to each selected proxy. */
export function virtualServiceToProxy(
  vsvc: VirtualService,
  defaultNamespace = 'default',
): ConvertedVirtualService {
  const namespace = namespaceOf(vsvc, defaultNamespace);
  const { owner, ctx } = rootContext('VirtualService', namespace, vsvc.metadata.name, ['spec', 'listener']);
  const listener = crdListenerToProxy(vsvc.spec.listener, ctx, owner);
  return { listener, endpointSelectors: ctx.endpointSelectors };
}

export interface ConvertedTarget {
  /** The proxy cluster, named `/l7mp.io/v1/Target/<ns>/<name>`, with its static endpoints only. */
  readonly cluster: ProxyCluster;
  readonly staticEndpoints: ProxyEndpoint[];
  /** Selector endpoints: of the cluster, and the pods of a linked VirtualService. */
  readonly endpointSelectors: EndpointSelector[];
}

/** The VirtualService a Target links to, or undefined when it has a cluster of its own. */
export function linkedVirtualServiceOf(target: Target, defaultNamespace = 'default') {
  const ref = target.spec.linkedVirtualService;
  if (ref === undefined) return undefined;
  return parseReferenceOfKind(ref, {
    kind: 'VirtualService',
    namespace: namespaceOf(target, defaultNamespace),
    path: ['spec', 'linkedVirtualService'],
  });
}

const unreachable = (protocol: string, path: ObjectPath) =>
  new CrdConversionError(
    `a ${protocol} listener cannot be the cluster of a Target: no cluster protocol reaches it from another pod`,
    path,
  );

/** The network cluster spec that reaches a UDP/TCP/WebSocket listener from another pod. */
function networkClusterSpec(spec: ListenerSpec, path: ObjectPath) {
  switch (spec.protocol) {
    case 'UDP':
      return { protocol: 'UDP' as const, port: spec.port };
    case 'TCP':
      return {
        protocol: 'TCP' as const,
        port: spec.port,
        ...(spec.framing !== undefined ? { framing: spec.framing } : {}),
      };
    case 'WebSocket':
      return {
        protocol: 'WebSocket' as const,
        port: spec.port,
        ...(spec.path !== undefined ? { path: spec.path } : {}),
      };
    default:
      throw unreachable(spec.protocol, path);
  }
}

/** The cluster spec that reaches a listener of the given spec from another pod. */
function clusterSpecReaching(spec: ListenerSpec, path: ObjectPath): ClusterSpec {
  if (spec.protocol === 'JSONSocket') {
    return { protocol: 'JSONSocket', transport: networkClusterSpec(spec.transport, path) };
  }
  return networkClusterSpec(spec, path);
}

/**
 * A Target as the cluster to add to each selected proxy. A Target with linkedVirtualService
 * needs that VirtualService (find it with linkedVirtualServiceOf): the cluster speaks its
 * listener's protocol to its pods.
 */
export function targetToProxy(
  target: Target,
  options: { linkedVirtualService?: VirtualService; defaultNamespace?: string } = {},
): ConvertedTarget {
  const namespace = namespaceOf(target, options.defaultNamespace ?? 'default');
  const { owner, ctx } = rootContext('Target', namespace, target.metadata.name, ['spec', 'cluster']);
  let cluster: ProxyCluster;
  if (target.spec.cluster !== undefined) {
    cluster = crdClusterToProxy(target.spec.cluster, ctx, owner);
  } else if (target.spec.linkedVirtualService !== undefined) {
    const linked = options.linkedVirtualService;
    const wanted = linkedVirtualServiceOf(target, namespace);
    if (linked === undefined || wanted === undefined) {
      throw new CrdConversionError(
        `the linked VirtualService ${JSON.stringify(target.spec.linkedVirtualService)} was not given`,
        ['spec', 'linkedVirtualService'],
      );
    }
    const linkedNamespace = namespaceOf(linked, namespace);
    if (linked.metadata.name !== wanted.name || linkedNamespace !== wanted.namespace) {
      throw new CrdConversionError(
        `got VirtualService ${linkedNamespace}/${linked.metadata.name} for the link to ${wanted.namespace}/${wanted.name}`,
        ['spec', 'linkedVirtualService'],
      );
    }
    cluster = {
      name: owner,
      spec: clusterSpecReaching(linked.spec.listener.spec, ['spec', 'linkedVirtualService']),
      endpoints: [],
      ...(target.spec.loadbalancer !== undefined ? { loadbalancer: target.spec.loadbalancer } : {}),
    };
    ctx.endpointSelectors.push({
      cluster: owner,
      selector: linked.spec.selector,
      source: canonicalObjectName('VirtualService', linkedNamespace, linked.metadata.name),
      namespace: linkedNamespace,
      path: ['spec', 'selector'],
    });
  } else {
    throw new CrdConversionError('a Target needs "cluster" or "linkedVirtualService"', ['spec']);
  }
  return { cluster, staticEndpoints: cluster.endpoints, endpointSelectors: ctx.endpointSelectors };
}

export interface ConvertedRule {
  /** The proxy rulelist the rule goes into. */
  readonly rulelist: string;
  readonly position: number;
  /** The proxy rule, named `/l7mp.io/v1/Rule/<ns>/<name>`. */
  readonly rule: ProxyRule;
  readonly endpointSelectors: EndpointSelector[];
}

/** A Rule resource as the rule to insert into a rulelist of each selected proxy. */
export function ruleResourceToProxy(resource: RuleResource, defaultNamespace = 'default'): ConvertedRule {
  const namespace = namespaceOf(resource, defaultNamespace);
  const { owner, ctx } = rootContext('Rule', namespace, resource.metadata.name, ['spec', 'rule']);
  const rule = { ...crdRuleToProxy(resource.spec.rule, ctx), name: owner };
  return {
    rulelist: resource.spec.rulelist,
    position: resource.spec.position ?? 0,
    rule,
    endpointSelectors: ctx.endpointSelectors,
  };
}
