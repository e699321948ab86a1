import { z } from 'zod';
import { Address, describeValue, NonNegativeInt, ObjectName, Port, PositiveInt } from './primitives';
import { ClusterSpec, ListenerSpec, toProxySpelling, VIRTUAL_CLUSTER_PROTOCOLS } from './protocols';
import { MatchSchema } from './predicate';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * zod skips an object's refinements once any of its fields failed. These cross-field checks are
 * written against possibly-invalid input so that they can run anyway and every problem of an
 * object is reported at once (e.g. a bad retry_on and a missing destination).
 */
const evenIfFieldsFailed = { when: (payload: z.core.ParsePayload): boolean => isRecord(payload.value) };

// ---------------------------------------------------------------- retry, load balancer

export const RETRY_POLICIES = ['never', 'connect-failure', 'disconnect', 'always'] as const;
export type RetryPolicy = (typeof RETRY_POLICIES)[number];

export const RETRY_DEFAULTS = { retry_on: 'never', num_retries: 1, timeout: 2000 } as const;

/** A route's retry policy; every field has its own default (the anchor dropped them, §1.7). */
export const RetrySchema = z.object({
  retry_on: z
    .enum(RETRY_POLICIES, {
      error: (i) => `expected one of ${RETRY_POLICIES.join(', ')}, got ${describeValue(i.input)}`,
    })
    .default(RETRY_DEFAULTS.retry_on)
    .describe(
      'When to retry: never, connect-failure (at setup), disconnect (an established stage fails), always',
    ),
  num_retries: NonNegativeInt.default(RETRY_DEFAULTS.num_retries).describe(
    'Attempts after the first one, at setup and at reconnect alike',
  ),
  timeout: PositiveInt.default(RETRY_DEFAULTS.timeout).describe(
    'Connect timeout and pause between attempts, ms',
  ),
});
export type Retry = z.output<typeof RetrySchema>;

export const LOAD_BALANCER_POLICIES = [
  'Trivial',
  'ConsistentHash',
  'HashRing',
  'RoundRobin',
  'LeastConnections',
  'None',
] as const;
export type LoadBalancerPolicy = (typeof LOAD_BALANCER_POLICIES)[number];

export const LoadBalancerSchema = z.object({
  policy: z
    .enum(LOAD_BALANCER_POLICIES, {
      error: (i) => `expected one of ${LOAD_BALANCER_POLICIES.join(', ')}, got ${describeValue(i.input)}`,
    })
    .describe(
      'Trivial (first endpoint), ConsistentHash/HashRing (sticky by key, weighted), RoundRobin, LeastConnections',
    ),
  key: z.string().optional().describe('Metadata path hashed by ConsistentHash, e.g. /IP/src_addr'),
});
export type LoadBalancer = z.output<typeof LoadBalancerSchema>;

// ---------------------------------------------------------------- endpoint, cluster

const EndpointSpecSchema = z.object({
  address: Address.optional(),
  filename: z.string().min(1).optional().describe('CRD spelling of a Unix socket path (same as address)'),
  port: Port.optional().describe('Overrides the cluster port for this endpoint'),
  weight: PositiveInt.optional().describe('CRD spelling of the endpoint weight'),
});

export const EndpointSchema = z
  .object({
    name: ObjectName.optional(),
    spec: EndpointSpecSchema,
    weight: PositiveInt.optional().describe('Relative weight for ConsistentHash (default 1)'),
  })
  .transform(({ name, spec: { filename, weight: specWeight, ...spec }, weight }) => ({
    ...(name !== undefined ? { name } : {}),
    spec: { ...spec, ...(spec.address === undefined && filename !== undefined ? { address: filename } : {}) },
    weight: weight ?? specWeight ?? 1,
  }));
export type EndpointInput = z.input<typeof EndpointSchema>;
export type Endpoint = z.output<typeof EndpointSchema>;

const PROTOCOLS_NEEDING_ADDRESS = new Set(['UDP', 'TCP', 'WebSocket', 'JSONSocket']);

/** The protocol of a (possibly invalid, possibly CRD-spelled) cluster spec, if it names one. */
function protocolOf(spec: unknown): string | undefined {
  const proxySpelling = toProxySpelling(spec);
  return isRecord(proxySpelling) && typeof proxySpelling.protocol === 'string'
    ? proxySpelling.protocol
    : undefined;
}

export function isVirtualClusterProtocol(protocol: string): boolean {
  return (VIRTUAL_CLUSTER_PROTOCOLS as readonly string[]).includes(protocol);
}

/**
 * Why an endpoint cannot be added to a cluster with this spec, or undefined if it can. Shared by
 * cluster validation and by the REST API's `POST /clusters/{name}/endpoints`.
 */
export function endpointProblem(
  clusterSpec: unknown,
  endpoint: unknown,
): { path: (string | number)[]; message: string } | undefined {
  const protocol = protocolOf(clusterSpec);
  if (protocol === undefined) return undefined;
  if (isVirtualClusterProtocol(protocol)) {
    return { path: [], message: `Adding an endpoint to a cluster of type "${protocol}" is not supported` };
  }
  const spec = isRecord(endpoint) ? endpoint.spec : undefined;
  if (!isRecord(spec)) return undefined; // the endpoint schema reports a missing spec
  if (spec.address !== undefined || spec.filename !== undefined) return undefined;
  if (PROTOCOLS_NEEDING_ADDRESS.has(protocol)) {
    return { path: ['spec', 'address'], message: `an endpoint of a ${protocol} cluster needs an address` };
  }
  const spelled = toProxySpelling(clusterSpec);
  if (protocol === 'UnixDomainSocket' && !(isRecord(spelled) && typeof spelled.filename === 'string')) {
    return {
      path: ['spec', 'address'],
      message: 'an endpoint of a UnixDomainSocket cluster needs a socket path (address or filename)',
    };
  }
  return undefined;
}

export const ClusterSchema = z
  .object({
    name: ObjectName.optional(),
    spec: ClusterSpec,
    endpoints: z
      .union([z.array(EndpointSchema), NonNegativeInt], {
        error: (i) => `expected a list of endpoints, got ${describeValue(i.input)}`,
      })
      .optional()
      .describe('Endpoints; a number (as in non-recursive dumps) is accepted and means none'),
    loadbalancer: LoadBalancerSchema.optional(),
    options: z.unknown().optional(),
  })
  .superRefine((cluster, ctx) => {
    const endpoints: unknown = cluster.endpoints;
    if (!Array.isArray(endpoints) || endpoints.length === 0) return;
    const protocol = protocolOf(cluster.spec);
    if (protocol !== undefined && isVirtualClusterProtocol(protocol)) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoints'],
        message: `Adding an endpoint to a cluster of type "${protocol}" is not supported`,
      });
      return;
    }
    endpoints.forEach((endpoint: unknown, i) => {
      const problem = endpointProblem(cluster.spec, endpoint);
      if (problem)
        ctx.addIssue({ code: 'custom', path: ['endpoints', i, ...problem.path], message: problem.message });
    });
  }, evenIfFieldsFailed)
  .transform(({ endpoints, ...rest }) => ({
    ...rest,
    endpoints: Array.isArray(endpoints) ? endpoints : [],
  }));
export type ClusterInput = z.input<typeof ClusterSchema>;
export type Cluster = z.output<typeof ClusterSchema>;

const ClusterRef = z.union([ObjectName, ClusterSchema], {
  error: (i) => `expected a cluster name or an inline cluster object, got ${describeValue(i.input)}`,
});
export type ClusterRef = z.output<typeof ClusterRef>;

// ---------------------------------------------------------------- route, rule, rulelist

export const RouteSchema = z
  .object({
    name: ObjectName.optional(),
    destination: ClusterRef.optional(),
    cluster: ClusterRef.optional().describe('Legacy alias of destination'),
    ingress: z.array(ClusterRef).default([]),
    egress: z.array(ClusterRef).default([]),
    retry: RetrySchema.default(RETRY_DEFAULTS),
  })
  .superRefine((route, ctx) => {
    if (route.destination === undefined && route.cluster === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['destination'],
        message: 'a route needs a destination (or its alias "cluster")',
      });
    }
  }, evenIfFieldsFailed)
  .transform(({ cluster, destination, ...rest }) => ({
    ...rest,
    destination: (destination ?? cluster) as ClusterRef,
  }));
export type RouteInput = z.input<typeof RouteSchema>;
export type Route = z.output<typeof RouteSchema>;

export const RewriteSchema = z.object({
  path: z.string(),
  value: z.unknown(),
});
export type Rewrite = z.output<typeof RewriteSchema>;

export const ActionSchema = z
  .object({
    rewrite: z.array(RewriteSchema).optional(),
    route: z
      .union([ObjectName, RouteSchema], {
        error: (i) => `expected a route name or an inline route object, got ${describeValue(i.input)}`,
      })
      .optional(),
    apply: ObjectName.optional().describe('Name of a RuleList to continue the lookup in'),
  })
  .superRefine((action, ctx) => {
    if (action.route === undefined && action.apply === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'an action needs a "route" or an "apply"' });
    }
  }, evenIfFieldsFailed);
export type Action = z.output<typeof ActionSchema>;

export const RuleSchema = z.object({
  name: ObjectName.optional(),
  match: MatchSchema.optional(),
  action: ActionSchema,
});
export type RuleInput = z.input<typeof RuleSchema>;
export type Rule = z.output<typeof RuleSchema>;

const RuleRef = z.union([ObjectName, RuleSchema], {
  error: (i) => `expected a rule name or an inline rule object, got ${describeValue(i.input)}`,
});

export const RuleListSchema = z.object({
  name: ObjectName.optional(),
  rules: z.array(RuleRef),
});
export type RuleListInput = z.input<typeof RuleListSchema>;
export type RuleList = z.output<typeof RuleListSchema>;

// ---------------------------------------------------------------- listener

export const ListenerOptionsSchema = z.object({
  track: NonNegativeInt.default(0).describe('Seconds an ended session stays listed'),
});

export const ListenerSchema = z.object({
  name: ObjectName.optional(),
  spec: ListenerSpec,
  rules: z.union([ObjectName, z.array(RuleRef)], {
    error: (i) => `expected a rulelist name or a list of rules, got ${describeValue(i.input)}`,
  }),
  options: ListenerOptionsSchema.default({ track: 0 }),
});
export type ListenerInput = z.input<typeof ListenerSchema>;
export type Listener = z.output<typeof ListenerSchema>;

// ---------------------------------------------------------------- admin

export const LOG_LEVELS = [
  'silly',
  'trace',
  'verbose',
  'debug',
  'info',
  'http',
  'timing',
  'notice',
  'warn',
  'error',
  'fatal',
  'silent',
] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const AdminSchema = z.object({
  log_level: z
    .enum(LOG_LEVELS, {
      error: (i) => `expected one of ${LOG_LEVELS.join(', ')}, got ${describeValue(i.input)}`,
    })
    .optional()
    .describe('Log level (npmlog names of l7mp 0.5 are mapped to the nearest pino level)'),
  log_file: z.string().optional().describe('stdout, stderr, or a file to append logs to'),
  access_log_path: z.string().optional().describe('File receiving one JSON line per ended session'),
  strict: z
    .boolean()
    .optional()
    .describe('Strict REST validation: 422 for invalid input and query parameters'),
  offload: z
    .union([z.enum(['init', 'no_init', 'disable']), z.boolean()])
    .optional()
    .describe('Accepted for compatibility; kernel offload is not implemented'),
  offload_ifs: z.array(z.string()).optional().describe('Accepted for compatibility; not used'),
  token_file: z.string().optional().describe('File holding the bearer token required by the REST API'),
  version: z.string().optional().describe('Ignored on input; reported by GET /api/v1/admin'),
});
export type Admin = z.output<typeof AdminSchema>;

// ---------------------------------------------------------------- top-level (named) objects

const requireName = <T extends z.ZodType>(schema: T, kind: string) =>
  schema.superRefine((value, ctx) => {
    if ((value as { name?: unknown }).name === undefined) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `a top-level ${kind} needs a name` });
    }
  }, evenIfFieldsFailed);

export const NamedListenerSchema = requireName(ListenerSchema, 'listener');
export const NamedClusterSchema = requireName(ClusterSchema, 'cluster');
export const NamedRuleListSchema = requireName(RuleListSchema, 'rulelist');
export const NamedRuleSchema = requireName(RuleSchema, 'rule');
export const NamedRouteSchema = requireName(RouteSchema, 'route');

/** A static proxy config file or a `PUT /api/v1/config` body. */
export const ConfigSchema = z.object({
  admin: AdminSchema.optional(),
  listeners: z.array(NamedListenerSchema).default([]),
  clusters: z.array(NamedClusterSchema).default([]),
  rulelists: z.array(NamedRuleListSchema).default([]),
  rules: z.array(NamedRuleSchema).default([]),
  routes: z.array(NamedRouteSchema).default([]),
  endpoints: z.unknown().optional().describe('Ignored: endpoints belong to their cluster'),
  sessions: z.unknown().optional().describe('Ignored: sessions cannot be configured'),
});
export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;
