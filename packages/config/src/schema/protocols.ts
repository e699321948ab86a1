import { z } from 'zod';
import {
  Address,
  AddressPortPair,
  BindSpec,
  describeValue,
  Framing,
  NonNegativeInt,
  ObjectName,
  ListenPort,
  Port,
  PositiveInt,
  UnixSocketMode,
} from './primitives';

export const LISTENER_PROTOCOLS = [
  'HTTP',
  'WebSocket',
  'UDP',
  'TCP',
  'UnixDomainSocket',
  'JSONSocket',
  'Test',
] as const;
export type ListenerProtocol = (typeof LISTENER_PROTOCOLS)[number];

export const CLUSTER_PROTOCOLS = [
  'WebSocket',
  'UDP',
  'TCP',
  'UnixDomainSocket',
  'JSONSocket',
  'Stdio',
  'Echo',
  'Discard',
  'Logger',
  'JSONEncap',
  'JSONDecap',
  'Sync',
  'Metric',
  'Prometheus',
  'L7mpController',
  'Test',
] as const;
export type ClusterProtocol = (typeof CLUSTER_PROTOCOLS)[number];

/** Clusters that run inside the proxy and have no endpoints of their own (anchor §2.7). */
export const VIRTUAL_CLUSTER_PROTOCOLS: readonly ClusterProtocol[] = [
  'Stdio',
  'Echo',
  'Discard',
  'Logger',
  'JSONEncap',
  'JSONDecap',
  'Sync',
  'Metric',
  'Prometheus',
  'L7mpController',
];

const ALL_PROTOCOL_KEYS = new Set<string>([...LISTENER_PROTOCOLS, ...CLUSTER_PROTOCOLS, 'HTTP', 'Sdtio']);
// The anchor CRD spells Stdio as "Sdtio" at the top level of Cluster.spec.
const SPELLING_FIXES: Record<string, string> = { Sdtio: 'Stdio' };

/**
 * Accepts both spellings of a protocol spec: the proxy's `{protocol: UDP, port: 9001}` and the
 * CRD's `{UDP: {port: 9001}}`, and returns the proxy's. Anything else is returned unchanged so
 * that the schema reports what is wrong with it.
 */
export function toProxySpelling(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  let result: Record<string, unknown> = record;
  const keys = Object.keys(record);
  if (!('protocol' in record) && keys.length === 1 && ALL_PROTOCOL_KEYS.has(keys[0]!)) {
    const key = keys[0]!;
    const inner = record[key];
    if (inner === null || inner === undefined || (typeof inner === 'object' && !Array.isArray(inner))) {
      result = { protocol: SPELLING_FIXES[key] ?? key, ...((inner as Record<string, unknown>) ?? {}) };
    }
  }
  if ('transport_spec' in result && !('transport' in result)) {
    const { transport_spec, ...rest } = result;
    result = { ...rest, transport: transport_spec };
  }
  return result;
}

function protocolUnion<T extends readonly [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]]>(
  kind: string,
  names: readonly string[],
  options: T,
) {
  return z.discriminatedUnion('protocol', options, {
    error: (issue) => {
      const input = issue.input as Record<string, unknown> | undefined;
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        return `expected a ${kind} spec object, got ${describeValue(input)}`;
      }
      if (!('protocol' in input)) {
        return `missing protocol: expected "protocol: <name>" or a single key naming the protocol, one of ${names.join(', ')}`;
      }
      return `unknown ${kind} protocol ${describeValue(input.protocol)}, expected one of ${names.join(', ')}`;
    },
  });
}

// ---------------------------------------------------------------- listener specs

export const UDPListenerSpec = z
  .object({
    protocol: z.literal('UDP'),
    port: ListenPort,
    address: Address.optional().describe(
      'Local address to bind (default: all IPv4 interfaces; "::" for IPv6)',
    ),
    connect: AddressPortPair.optional().describe(
      'Remote peer: singleton target, or a peer filter in server mode',
    ),
    options: z
      .object({
        mode: z
          .enum(['server', 'singleton'])
          .optional()
          .describe(
            'server: a session per peer; singleton: one session with connect.address:port (default when both are set)',
          ),
        idle_timeout: NonNegativeInt.optional().describe(
          'Server mode: end a session after this many milliseconds without traffic (0: never)',
        ),
      })
      .optional(),
  })
  .superRefine(
    (spec, ctx) => {
      const connect: unknown = spec.connect;
      const options: unknown = spec.options;
      const mode =
        options !== null && typeof options === 'object' ? (options as { mode?: unknown }).mode : undefined;
      const remote =
        connect !== null && typeof connect === 'object'
          ? (connect as { address?: unknown; port?: unknown })
          : {};
      if (mode === 'singleton' && (remote.address === undefined || remote.port === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['options', 'mode'],
          message:
            'Singleton mode requested but either connect.address or connect.port is not defined (or neither): no remote to connect to',
        });
      }
    },
    { when: (payload) => payload.value !== null && typeof payload.value === 'object' },
  );

/** Framing only makes sense on a byte stream; datagram sockets keep message boundaries already. */
function checkUnixFraming(spec: { mode?: unknown; framing?: unknown }, ctx: z.core.$RefinementCtx): void {
  if (
    (spec.mode === 'seqpacket' || spec.mode === 'dgram') &&
    spec.framing !== undefined &&
    spec.framing !== 'none'
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['framing'],
      message: `framing "${String(spec.framing)}" applies to stream sockets only; a ${spec.mode} socket keeps message boundaries`,
    });
  }
}
const whenObject = {
  when: (payload: z.core.ParsePayload) => payload.value !== null && typeof payload.value === 'object',
};

export const TCPListenerSpec = z.object({
  protocol: z.literal('TCP'),
  port: ListenPort,
  address: Address.optional(),
  framing: Framing.optional(),
});

export const HTTPListenerSpec = z.object({
  protocol: z.literal('HTTP'),
  port: ListenPort,
  address: Address.optional(),
  path: z.string().optional().describe('Serve only this exact request path (others get 404)'),
});

export const WebSocketListenerSpec = z.object({
  protocol: z.literal('WebSocket'),
  port: ListenPort,
  address: Address.optional(),
  path: z.string().optional().describe('Accept WebSocket upgrades only on this path (others get 404)'),
});

export const UnixDomainSocketListenerSpec = z
  .object({
    protocol: z.literal('UnixDomainSocket'),
    filename: z.string().min(1).describe('Path of the socket file to listen on'),
    mode: UnixSocketMode.optional().describe('Socket type (default stream)'),
    framing: Framing.optional().describe('Message framing on a stream socket (default none)'),
  })
  .superRefine(checkUnixFraming, whenObject);

export const TestListenerSpec = z.object({ protocol: z.literal('Test') }).passthrough();

const transportListenerSpec = z.preprocess(
  toProxySpelling,
  protocolUnion(
    'JSONSocket transport',
    ['UDP', 'TCP', 'WebSocket', 'UnixDomainSocket'],
    [UDPListenerSpec, TCPListenerSpec, WebSocketListenerSpec, UnixDomainSocketListenerSpec],
  ),
);

export const JSONSocketListenerSpec = z.object({
  protocol: z.literal('JSONSocket'),
  transport: transportListenerSpec,
  header_timeout: PositiveInt.optional().describe(
    'Milliseconds to wait for the client request header (default 5000)',
  ),
});

export const ListenerSpec = z.preprocess(
  toProxySpelling,
  protocolUnion('listener', LISTENER_PROTOCOLS, [
    HTTPListenerSpec,
    WebSocketListenerSpec,
    UDPListenerSpec,
    TCPListenerSpec,
    UnixDomainSocketListenerSpec,
    JSONSocketListenerSpec,
    TestListenerSpec,
  ]),
);
export type ListenerSpec = z.infer<typeof ListenerSpec>;

// ---------------------------------------------------------------- cluster specs

export const UDPClusterSpec = z.object({
  protocol: z.literal('UDP'),
  port: Port,
  bind: BindSpec.optional(),
});

export const TCPClusterSpec = z.object({
  protocol: z.literal('TCP'),
  port: Port,
  bind: BindSpec.optional(),
  framing: Framing.optional(),
});

export const WebSocketClusterSpec = z.object({
  protocol: z.literal('WebSocket'),
  port: Port,
  bind: BindSpec.optional(),
  path: z
    .string()
    .optional()
    .describe('Request path of the WebSocket connection (default: the client request path, else /)'),
});

export const UnixDomainSocketClusterSpec = z
  .object({
    protocol: z.literal('UnixDomainSocket'),
    filename: z.string().min(1).optional().describe('Default socket path for endpoints that give none'),
    mode: UnixSocketMode.optional().describe('Socket type (default stream)'),
    framing: Framing.optional().describe('Message framing on a stream socket (default none)'),
  })
  .superRefine(checkUnixFraming, whenObject);

const HeaderPathSpec = z.union([z.string(), z.object({ from: z.string(), to: z.string() })]);

export const JSONSocketHeaderEntry = z.union(
  [
    z.object({ path: HeaderPathSpec }).strict(),
    z.object({ set: z.object({ key: z.string(), value: z.unknown() }) }).strict(),
  ],
  {
    error: (i) =>
      `expected a header entry {path: <from> | {from, to}} or {set: {key, value}}, got ${describeValue(i.input)}`,
  },
);

const transportClusterSpec = z.preprocess(
  toProxySpelling,
  protocolUnion(
    'JSONSocket transport',
    ['WebSocket', 'UDP', 'TCP', 'UnixDomainSocket', 'Stdio', 'Echo', 'Discard'],
    [
      WebSocketClusterSpec,
      UDPClusterSpec,
      TCPClusterSpec,
      UnixDomainSocketClusterSpec,
      z.object({ protocol: z.literal('Stdio') }),
      z.object({ protocol: z.literal('Echo') }),
      z.object({ protocol: z.literal('Discard') }),
    ],
  ),
);

export const JSONSocketClusterSpec = z.object({
  protocol: z.literal('JSONSocket'),
  transport: transportClusterSpec,
  header: z.array(JSONSocketHeaderEntry).optional(),
});

export const LoggerClusterSpec = z.object({
  protocol: z.literal('Logger'),
  log_file: z.string().optional().describe('"-" or "stdout" (default), "stderr", or a file to append to'),
  log_prefix: z.string().optional().describe('Written before every chunk as "<prefix>: "'),
});

export const SyncClusterSpec = z.object({
  protocol: z.literal('Sync'),
  query: z
    .string()
    .min(1)
    .describe("Metadata path whose value groups sessions; members of a group receive each other's data"),
});

export const MetricClusterSpec = z.object({
  protocol: z.literal('Metric'),
  byteCounterName: z
    .string()
    .optional()
    .describe('Accepted for compatibility; the counter is session_byte_counter_total'),
  packetCounterName: z
    .string()
    .optional()
    .describe('Accepted for compatibility; the counter is session_packet_counter_total'),
});

const bare = <P extends string>(protocol: P) => z.object({ protocol: z.literal(protocol) });

export const ClusterSpec = z.preprocess(
  toProxySpelling,
  protocolUnion('cluster', CLUSTER_PROTOCOLS, [
    WebSocketClusterSpec,
    UDPClusterSpec,
    TCPClusterSpec,
    UnixDomainSocketClusterSpec,
    JSONSocketClusterSpec,
    bare('Stdio'),
    bare('Echo'),
    bare('Discard'),
    LoggerClusterSpec,
    bare('JSONEncap'),
    bare('JSONDecap'),
    SyncClusterSpec,
    MetricClusterSpec,
    bare('Prometheus'),
    bare('L7mpController'),
    z.object({ protocol: z.literal('Test') }).passthrough(),
  ]),
);
export type ClusterSpec = z.infer<typeof ClusterSpec>;

export type ListenerSpecOf<P extends ListenerProtocol> = Extract<ListenerSpec, { protocol: P }>;
export type ClusterSpecOf<P extends ClusterProtocol> = Extract<ClusterSpec, { protocol: P }>;

export { ObjectName };
