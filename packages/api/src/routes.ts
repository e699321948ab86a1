import type { Proxy } from '@l7mp/core';
import { ApiError } from './api-error';

/** A decoded REST request. `params` are the decoded path segments named in the route pattern. */
export interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  strict: boolean;
}

export type ApiHandler = (proxy: Proxy, request: ApiRequest) => unknown;

export interface Route {
  method: string;
  /** Path pattern below /api/v1 with `{name}` parameters, e.g. `/listeners/{name}`. */
  pattern: string;
  operationId: string;
  summary: string;
  /** Wrapper key of the request body, e.g. `listener` for `{listener: {...}}`. */
  bodyKey?: string;
  /** Which schema documents the wrapped body (see openapi.ts). */
  bodySchema?: string;
  queryRecursive?: boolean;
  handler: ApiHandler;
}

const OK = { status: 200, message: 'OK' } as const;

/** `recursive` is on only for the literal `true`; strict mode rejects anything but true/false. */
export function recursiveOf(request: ApiRequest): boolean {
  const value = request.query.get('recursive');
  if (value === null) return false;
  if (request.strict && value !== 'true' && value !== 'false') {
    throw new ApiError(
      422,
      `query parameter recursive: expected true or false, got ${JSON.stringify(value)}`,
    );
  }
  return value === 'true';
}

/** The object inside the body's wrapper (`{listener: {...}}`), or a 400 naming the missing key. */
export function unwrap(request: ApiRequest, key: string): unknown {
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, `Request body must be an object of the form {"${key}": {...}}`);
  }
  if (!(key in body)) {
    const keys = Object.keys(body);
    throw new ApiError(
      400,
      `Request body must be an object of the form {"${key}": {...}}, got ${keys.length === 0 ? 'an empty object' : `keys ${keys.map((k) => JSON.stringify(k)).join(', ')}`}`,
    );
  }
  return (body as Record<string, unknown>)[key];
}

function position(request: ApiRequest): number {
  const raw = request.params.position ?? '';
  if (!/^-?\d+$/.test(raw))
    throw new ApiError(400, `Rule position must be an integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

const name = (request: ApiRequest): string => request.params.name ?? '';

/**
 * Adds `bound`, the address the listener actually listens on (the port the kernel chose for
 * port 0, the socket path), to a listener dump; PUT /config ignores the key.
 */
function withBound<T extends { name: string }>(proxy: Proxy, dump: T): T & { bound?: unknown } {
  const bound = proxy.listenerAddress(dump.name);
  return bound === undefined ? dump : { ...dump, bound };
}

/** The 17 paths of the anchor (§5.3) plus the declarative config of product.md §4. */
export const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: '/config',
    operationId: 'getConf',
    summary:
      'The whole configuration as a document PUT /config accepts (clusters list their endpoints), plus the endpoints and sessions',
    handler: (proxy) => ({
      ...proxy.dumpConfig(),
      admin: proxy.getAdmin(),
      endpoints: proxy.listEndpoints(),
      sessions: proxy.sessions(),
    }),
  },
  {
    method: 'POST',
    pattern: '/config',
    operationId: 'setConf',
    summary: 'Add the objects of a static config to the running proxy',
    bodySchema: 'Config',
    handler: async (proxy, request) => {
      await proxy.applyConfig(request.body);
      return OK;
    },
  },
  {
    method: 'PUT',
    pattern: '/config',
    operationId: 'replaceConf',
    summary:
      'Make the proxy run exactly this config: validated as a whole, then only what differs is changed; unchanged objects and their sessions are kept',
    bodySchema: 'Config',
    handler: async (proxy, request) => proxy.replaceConfig(request.body),
  },
  {
    method: 'GET',
    pattern: '/admin',
    operationId: 'getAdmin',
    summary: 'Admin settings and version',
    handler: (proxy) => proxy.getAdmin(),
  },
  {
    method: 'POST',
    pattern: '/admin',
    operationId: 'applyAdmin',
    summary: 'Change admin settings (log level, strict mode ...)',
    bodyKey: 'admin',
    bodySchema: 'Admin',
    handler: (proxy, request) => {
      proxy.applyAdmin(unwrap(request, 'admin'));
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/listeners',
    operationId: 'getListeners',
    summary: 'All listeners',
    queryRecursive: true,
    handler: (proxy, request) =>
      proxy.listListeners({ recursive: recursiveOf(request) }).map((dump) => withBound(proxy, dump)),
  },
  {
    method: 'POST',
    pattern: '/listeners',
    operationId: 'addListener',
    summary: 'Add a listener',
    bodyKey: 'listener',
    bodySchema: 'Listener',
    handler: async (proxy, request) => {
      await proxy.addListener(unwrap(request, 'listener'));
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/listeners/{name}',
    operationId: 'getListener',
    summary: 'One listener',
    queryRecursive: true,
    handler: (proxy, request) =>
      withBound(proxy, proxy.getListener(name(request), { recursive: recursiveOf(request) })),
  },
  {
    method: 'DELETE',
    pattern: '/listeners/{name}',
    operationId: 'deleteListener',
    summary: 'Delete a listener (recursive: also its generated rulelist and its sessions)',
    queryRecursive: true,
    handler: async (proxy, request) => {
      await proxy.deleteListener(name(request), { recursive: recursiveOf(request) });
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/clusters',
    operationId: 'getClusters',
    summary: 'All clusters',
    queryRecursive: true,
    handler: (proxy, request) => proxy.listClusters({ recursive: recursiveOf(request) }),
  },
  {
    method: 'POST',
    pattern: '/clusters',
    operationId: 'addCluster',
    summary: 'Add a cluster',
    bodyKey: 'cluster',
    bodySchema: 'Cluster',
    handler: async (proxy, request) => {
      await proxy.addCluster(unwrap(request, 'cluster'));
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/clusters/{name}',
    operationId: 'getCluster',
    summary: 'One cluster',
    queryRecursive: true,
    handler: (proxy, request) => proxy.getCluster(name(request), { recursive: recursiveOf(request) }),
  },
  {
    method: 'DELETE',
    pattern: '/clusters/{name}',
    operationId: 'deleteCluster',
    summary: 'Delete a cluster and its endpoints (recursive: also end the sessions through it)',
    queryRecursive: true,
    handler: async (proxy, request) => {
      await proxy.deleteCluster(name(request), { recursive: recursiveOf(request) });
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/clusters/{name}/endpoints',
    operationId: 'getEndPoints',
    summary: 'The endpoints of a cluster',
    handler: (proxy, request) => proxy.listEndpoints(name(request)),
  },
  {
    method: 'POST',
    pattern: '/clusters/{name}/endpoints',
    operationId: 'addEndPoint',
    summary: 'Add an endpoint to a cluster',
    bodyKey: 'endpoint',
    bodySchema: 'EndPoint',
    handler: async (proxy, request) => {
      await proxy.addEndpoint(name(request), unwrap(request, 'endpoint'));
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/endpoints/{name}',
    operationId: 'getEndPoint',
    summary: 'One endpoint',
    handler: (proxy, request) => proxy.getEndpoint(name(request)),
  },
  {
    method: 'DELETE',
    pattern: '/endpoints/{name}',
    operationId: 'deleteEndPoint',
    summary: 'Delete an endpoint (recursive: sessions using it reconnect or end)',
    queryRecursive: true,
    handler: (proxy, request) => {
      proxy.deleteEndpoint(name(request), { recursive: recursiveOf(request) });
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/rulelists',
    operationId: 'getRuleLists',
    summary: 'All rulelists',
    queryRecursive: true,
    handler: (proxy, request) => proxy.listRuleLists({ recursive: recursiveOf(request) }),
  },
  {
    method: 'POST',
    pattern: '/rulelists',
    operationId: 'addRuleList',
    summary: 'Add a rulelist',
    bodyKey: 'rulelist',
    bodySchema: 'RuleList',
    handler: async (proxy, request) => {
      await proxy.addRuleList(unwrap(request, 'rulelist'));
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/rulelists/{name}',
    operationId: 'getRuleList',
    summary: 'One rulelist',
    queryRecursive: true,
    handler: (proxy, request) => proxy.getRuleList(name(request), { recursive: recursiveOf(request) }),
  },
  {
    method: 'DELETE',
    pattern: '/rulelists/{name}',
    operationId: 'deleteRuleList',
    summary: 'Delete a rulelist (recursive: also the rules it embedded)',
    queryRecursive: true,
    handler: async (proxy, request) => {
      await proxy.deleteRuleList(name(request), { recursive: recursiveOf(request) });
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/rulelists/{name}/rules/{position}',
    operationId: 'getRuleFromRuleList',
    summary: 'The rule at a position of a rulelist',
    queryRecursive: true,
    handler: (proxy, request) =>
      proxy.getRuleFromRuleList(name(request), position(request), { recursive: recursiveOf(request) }),
  },
  {
    method: 'POST',
    pattern: '/rulelists/{name}/rules/{position}',
    operationId: 'addRuleToRuleList',
    summary: 'Insert a rule (a name or an inline rule) at a position of a rulelist',
    bodyKey: 'rule',
    bodySchema: 'RuleOrName',
    handler: async (proxy, request) => {
      await proxy.addRuleToRuleList(name(request), position(request), unwrap(request, 'rule'));
      return OK;
    },
  },
  {
    method: 'DELETE',
    pattern: '/rulelists/{name}/rules/{position}',
    operationId: 'deleteRuleFromRuleList',
    summary: 'Remove a rule from a rulelist, by position or by rule name (recursive: delete the rule too)',
    queryRecursive: true,
    handler: async (proxy, request) => {
      await proxy.deleteRuleFromRuleList(name(request), request.params.position ?? '', {
        recursive: recursiveOf(request),
      });
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/rules',
    operationId: 'getRules',
    summary: 'All rules',
    queryRecursive: true,
    handler: (proxy, request) => proxy.listRules({ recursive: recursiveOf(request) }),
  },
  {
    method: 'POST',
    pattern: '/rules',
    operationId: 'addRule',
    summary: 'Add a rule',
    bodyKey: 'rule',
    bodySchema: 'Rule',
    handler: async (proxy, request) => {
      await proxy.addRule(unwrap(request, 'rule'));
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/rules/{name}',
    operationId: 'getRule',
    summary: 'One rule',
    queryRecursive: true,
    handler: (proxy, request) => proxy.getRule(name(request), { recursive: recursiveOf(request) }),
  },
  {
    method: 'DELETE',
    pattern: '/rules/{name}',
    operationId: 'deleteRule',
    summary: 'Delete a rule (recursive: also its generated route)',
    queryRecursive: true,
    handler: async (proxy, request) => {
      await proxy.deleteRule(name(request), { recursive: recursiveOf(request) });
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/routes',
    operationId: 'getRoutes',
    summary: 'All routes',
    queryRecursive: true,
    handler: (proxy, request) => proxy.listRoutes({ recursive: recursiveOf(request) }),
  },
  {
    method: 'POST',
    pattern: '/routes',
    operationId: 'addRoute',
    summary: 'Add a route',
    bodyKey: 'route',
    bodySchema: 'Route',
    handler: async (proxy, request) => {
      await proxy.addRoute(unwrap(request, 'route'));
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/routes/{name}',
    operationId: 'getRoute',
    summary: 'One route',
    queryRecursive: true,
    handler: (proxy, request) => proxy.getRoute(name(request), { recursive: recursiveOf(request) }),
  },
  {
    method: 'DELETE',
    pattern: '/routes/{name}',
    operationId: 'deleteRoute',
    summary: 'Delete a route (recursive: also its generated clusters)',
    queryRecursive: true,
    handler: async (proxy, request) => {
      await proxy.deleteRoute(name(request), { recursive: recursiveOf(request) });
      return OK;
    },
  },
  {
    method: 'GET',
    pattern: '/sessions',
    operationId: 'getSessions',
    summary: 'All sessions with their stages and events',
    handler: (proxy) => proxy.sessions(),
  },
  {
    method: 'GET',
    pattern: '/sessions/{name}',
    operationId: 'getSession',
    summary: 'One session',
    handler: (proxy, request) => proxy.getSession(name(request)),
  },
  {
    method: 'DELETE',
    pattern: '/sessions/{name}',
    operationId: 'deleteSession',
    summary: 'End a session',
    handler: (proxy, request) => {
      proxy.deleteSession(name(request));
      return OK;
    },
  },
];

interface CompiledRoute {
  route: Route;
  segments: readonly { literal?: string; param?: string }[];
}

const COMPILED: CompiledRoute[] = ROUTES.map((route) => ({
  route,
  segments: route.pattern
    .split('/')
    .slice(1)
    .map((segment) => {
      const match = /^\{(\w+)\}$/.exec(segment);
      return match ? { param: match[1]! } : { literal: segment };
    }),
}));

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

/**
 * Finds the route for a path below /api/v1. Segments are percent-decoded one by one, so an
 * object name that contains `/` (the operator's `/l7mp.io/v1/Target/ns/name`) travels as `%2F`.
 */
export function matchRoute(method: string, rawSegments: readonly string[]): RouteMatch {
  const allowed: string[] = [];
  for (const { route, segments } of COMPILED) {
    if (segments.length !== rawSegments.length) continue;
    const params: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < segments.length && matched; i++) {
      const pattern = segments[i]!;
      const raw = rawSegments[i]!;
      if (pattern.literal !== undefined) {
        matched = pattern.literal === raw;
      } else {
        try {
          params[pattern.param!] = decodeURIComponent(raw);
        } catch {
          matched = false;
        }
        if (raw === '') matched = false;
      }
    }
    if (!matched) continue;
    if (route.method === method) return { kind: 'found', route, params };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
}
