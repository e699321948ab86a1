import { describe, expect, it } from '@jest/globals';
import {
  ConfigValidationError,
  formatIssue,
  parseAndNormaliseConfig,
  validateConfig,
  type ConfigIssue,
} from '@l7mp/config';

const listener = (spec: unknown, extra: Record<string, unknown> = {}) => ({
  listeners: [{ name: 'l', spec, rules: 'rl', ...extra }],
});
const cluster = (body: Record<string, unknown>) => ({ clusters: [{ name: 'c', ...body }] });
const route = (body: Record<string, unknown>) => ({ routes: [{ name: 'r', ...body }] });
const rule = (body: Record<string, unknown>) => ({ rules: [{ name: 'ru', ...body }] });
const match = (predicate: unknown) => rule({ match: predicate, action: { route: 'r' } });

const issue = (path: ConfigIssue['path'], message: string): ConfigIssue => ({ path, message });

/** Each bad config, with every problem the validator must report (path and message). */
const badInputs: [string, unknown, ConfigIssue[]][] = [
  [
    'cluster port 0',
    cluster({ spec: { protocol: 'UDP', port: 0 } }),
    [issue(['clusters', 0, 'spec', 'port'], 'expected an integer 1-65535, got 0')],
  ],
  [
    'port 65536',
    listener({ protocol: 'TCP', port: 65536 }),
    [issue(['listeners', 0, 'spec', 'port'], 'expected an integer 0-65535, got 65536')],
  ],
  [
    'port as a string',
    listener({ protocol: 'HTTP', port: '80' }),
    [issue(['listeners', 0, 'spec', 'port'], 'expected an integer 0-65535, got "80"')],
  ],
  [
    'fractional port',
    cluster({ spec: { protocol: 'UDP', port: 1.5 } }),
    [issue(['clusters', 0, 'spec', 'port'], 'expected an integer 1-65535, got 1.5')],
  ],
  [
    'missing port',
    listener({ protocol: 'WebSocket' }),
    [issue(['listeners', 0, 'spec', 'port'], 'required')],
  ],
  [
    'bind port out of range',
    cluster({ spec: { protocol: 'TCP', port: 1, bind: { port: -1 } } }),
    [issue(['clusters', 0, 'spec', 'bind', 'port'], 'expected an integer 0-65535, got -1')],
  ],
  [
    'unknown listener protocol',
    listener({ protocol: 'SCTP', port: 1 }),
    [
      issue(
        ['listeners', 0, 'spec', 'protocol'],
        'unknown listener protocol "SCTP", expected one of HTTP, WebSocket, UDP, TCP, UnixDomainSocket, JSONSocket, Test',
      ),
    ],
  ],
  [
    'a cluster-only protocol on a listener',
    listener({ protocol: 'Echo' }),
    [
      issue(
        ['listeners', 0, 'spec', 'protocol'],
        'unknown listener protocol "Echo", expected one of HTTP, WebSocket, UDP, TCP, UnixDomainSocket, JSONSocket, Test',
      ),
    ],
  ],
  [
    'spec without protocol',
    listener({ port: 1 }),
    [
      issue(
        ['listeners', 0, 'spec', 'protocol'],
        'missing protocol: expected "protocol: <name>" or a single key naming the protocol, one of HTTP, WebSocket, UDP, TCP, UnixDomainSocket, JSONSocket, Test',
      ),
    ],
  ],
  [
    'CRD spelling with a bad port',
    listener({ UDP: { port: 'x' } }),
    [issue(['listeners', 0, 'spec', 'port'], 'expected an integer 0-65535, got "x"')],
  ],
  [
    'unknown JSONSocket transport',
    listener({ protocol: 'JSONSocket', transport: { protocol: 'HTTP', port: 1 } }),
    [
      issue(
        ['listeners', 0, 'spec', 'transport', 'protocol'],
        'unknown JSONSocket transport protocol "HTTP", expected one of UDP, TCP, WebSocket, UnixDomainSocket',
      ),
    ],
  ],
  [
    'UDP singleton without a remote',
    listener({ protocol: 'UDP', port: 1, connect: { port: 2 }, options: { mode: 'singleton' } }),
    [
      issue(
        ['listeners', 0, 'spec', 'options', 'mode'],
        'Singleton mode requested but either connect.address or connect.port is not defined (or neither): no remote to connect to',
      ),
    ],
  ],
  [
    'bad UDS mode',
    listener({ protocol: 'UnixDomainSocket', filename: '/s', mode: 'raw' }),
    [issue(['listeners', 0, 'spec', 'mode'], 'expected one of "stream", "seqpacket", "dgram", got "raw"')],
  ],
  [
    'bad framing',
    cluster({ spec: { protocol: 'TCP', port: 1, framing: 'crlf' } }),
    [
      issue(
        ['clusters', 0, 'spec', 'framing'],
        'expected one of "none", "length-prefixed", "newline", got "crlf"',
      ),
    ],
  ],
  [
    'framing on a datagram UDS',
    cluster({
      spec: { protocol: 'UnixDomainSocket', mode: 'seqpacket', framing: 'newline', filename: '/s' },
    }),
    [
      issue(
        ['clusters', 0, 'spec', 'framing'],
        'framing "newline" applies to stream sockets only; a seqpacket socket keeps message boundaries',
      ),
    ],
  ],
  [
    'name with whitespace',
    { clusters: [{ name: 'my cluster', spec: { protocol: 'Echo' } }] },
    [issue(['clusters', 0, 'name'], 'expected a non-empty name without whitespace, got "my cluster"')],
  ],
  [
    'empty name',
    { rulelists: [{ name: '', rules: [] }] },
    [issue(['rulelists', 0, 'name'], 'expected a non-empty name without whitespace, got ""')],
  ],
  [
    'numeric name',
    { routes: [{ name: 7, destination: 'c' }] },
    [issue(['routes', 0, 'name'], 'expected a name (a string), got 7')],
  ],
  [
    'reference with whitespace',
    route({ destination: 'a b' }),
    [issue(['routes', 0, 'destination'], 'expected a non-empty name without whitespace, got "a b"')],
  ],
  [
    'missing listener name',
    { listeners: [{ spec: { protocol: 'TCP', port: 1 }, rules: [] }] },
    [issue(['listeners', 0, 'name'], 'a top-level listener needs a name')],
  ],
  [
    'missing cluster name',
    { clusters: [{ spec: { protocol: 'Echo' } }] },
    [issue(['clusters', 0, 'name'], 'a top-level cluster needs a name')],
  ],
  [
    'missing rulelist name',
    { rulelists: [{ rules: [] }] },
    [issue(['rulelists', 0, 'name'], 'a top-level rulelist needs a name')],
  ],
  [
    'missing rule name',
    { rules: [{ action: { route: 'r' } }] },
    [issue(['rules', 0, 'name'], 'a top-level rule needs a name')],
  ],
  [
    'missing route name',
    { routes: [{ destination: 'c' }] },
    [issue(['routes', 0, 'name'], 'a top-level route needs a name')],
  ],
  [
    'missing listener rules',
    { listeners: [{ name: 'l', spec: { protocol: 'TCP', port: 1 } }] },
    [issue(['listeners', 0, 'rules'], 'expected a rulelist name or a list of rules, got nothing')],
  ],
  ['missing rulelist rules', { rulelists: [{ name: 'rl' }] }, [issue(['rulelists', 0, 'rules'], 'required')]],
  [
    'unknown predicate op',
    match({ op: 'equals', path: '/a', value: 1 }),
    [
      issue(
        ['rules', 0, 'match', 'op'],
        'unknown predicate op "equals", expected one of contains, defined, undefined, starts, ends, less, more, in, test, matches, type, contained, intersects, and, or, not',
      ),
    ],
  ],
  [
    'predicate without path',
    match({ op: 'defined' }),
    [issue(['rules', 0, 'match', 'path'], '"defined" needs a "path"')],
  ],
  [
    'predicate without value',
    match({ op: 'starts', path: '/a' }),
    [issue(['rules', 0, 'match', 'value'], '"starts" needs a "value"')],
  ],
  [
    'less with a string',
    match({ op: 'less', path: '/a', value: '5' }),
    [issue(['rules', 0, 'match', 'value'], '"less" needs a number, got "5"')],
  ],
  [
    'in with a scalar',
    match({ op: 'in', path: '/a', value: 3 }),
    [issue(['rules', 0, 'match', 'value'], '"in" needs an array, got 3')],
  ],
  [
    'matches with a bad regex',
    match({ op: 'matches', path: '/a', value: '(' }),
    [
      issue(
        ['rules', 0, 'match', 'value'],
        'invalid regular expression "(": Invalid regular expression: /(/: Unterminated group',
      ),
    ],
  ],
  [
    'ignore_case not a boolean',
    match({ op: 'starts', path: '/a', value: 'x', ignore_case: 'yes' }),
    [issue(['rules', 0, 'match', 'ignore_case'], 'expected a boolean, got "yes"')],
  ],
  [
    'and without apply',
    match({ op: 'and' }),
    [issue(['rules', 0, 'match', 'apply'], '"and" needs "apply": a list of predicates, got nothing')],
  ],
  [
    'nested and/or/not with bad leaves',
    match({
      op: 'and',
      apply: [
        { op: 'or', apply: [{ op: 'more', path: '/x', value: null }] },
        { op: 'not', apply: ['x'] },
      ],
    }),
    [
      issue(['rules', 0, 'match', 'apply', 0, 'apply', 0, 'value'], '"more" needs a number, got null'),
      issue(
        ['rules', 0, 'match', 'apply', 1, 'apply', 0],
        'expected a predicate object {op, path, value}, got "x"',
      ),
    ],
  ],
  [
    'predicate in an inline rule of a listener',
    {
      listeners: [
        {
          name: 'l',
          spec: { protocol: 'TCP', port: 1 },
          rules: [{ match: { op: 'more', path: '/a', value: 'x' }, action: { route: 'r' } }],
        },
      ],
    },
    [issue(['listeners', 0, 'rules', 0, 'match', 'value'], '"more" needs a number, got "x"')],
  ],
  ['rule without action', rule({}), [issue(['rules', 0, 'action'], 'required')]],
  [
    'action without route or apply',
    rule({ action: { rewrite: [] } }),
    [issue(['rules', 0, 'action'], 'an action needs a "route" or an "apply"')],
  ],
  [
    'rewrite without path',
    rule({ action: { route: 'r', rewrite: [{ value: 1 }] } }),
    [issue(['rules', 0, 'action', 'rewrite', 0, 'path'], 'required')],
  ],
  [
    'unknown retry_on',
    route({ destination: 'c', retry: { retry_on: 'sometimes' } }),
    [
      issue(
        ['routes', 0, 'retry', 'retry_on'],
        'expected one of never, connect-failure, disconnect, always, got "sometimes"',
      ),
    ],
  ],
  [
    'negative num_retries',
    route({ destination: 'c', retry: { num_retries: -1 } }),
    [issue(['routes', 0, 'retry', 'num_retries'], 'expected a non-negative integer, got -1')],
  ],
  [
    'zero timeout',
    route({ destination: 'c', retry: { timeout: 0 } }),
    [issue(['routes', 0, 'retry', 'timeout'], 'expected a positive integer, got 0')],
  ],
  [
    'route without destination and a bad retry: both reported',
    route({ retry: { retry_on: 'x', timeout: 'soon' } }),
    [
      issue(
        ['routes', 0, 'retry', 'retry_on'],
        'expected one of never, connect-failure, disconnect, always, got "x"',
      ),
      issue(['routes', 0, 'retry', 'timeout'], 'expected a positive integer, got "soon"'),
      issue(['routes', 0, 'destination'], 'a route needs a destination (or its alias "cluster")'),
    ],
  ],
  [
    'inline destination with a bad port (reported inside the union)',
    route({ destination: { spec: { protocol: 'UDP', port: 0 } } }),
    [issue(['routes', 0, 'destination', 'spec', 'port'], 'expected an integer 1-65535, got 0')],
  ],
  [
    'destination neither a name nor an object',
    route({ destination: 5 }),
    [issue(['routes', 0, 'destination'], 'expected a cluster name or an inline cluster object, got 5')],
  ],
  [
    'unknown load balancer policy',
    cluster({ spec: { protocol: 'UDP', port: 1 }, loadbalancer: { policy: 'Random' } }),
    [
      issue(
        ['clusters', 0, 'loadbalancer', 'policy'],
        'expected one of Trivial, ConsistentHash, HashRing, RoundRobin, LeastConnections, None, got "Random"',
      ),
    ],
  ],
  [
    'load balancer without policy',
    cluster({ spec: { protocol: 'UDP', port: 1 }, loadbalancer: { key: '/a' } }),
    [
      issue(
        ['clusters', 0, 'loadbalancer', 'policy'],
        'expected one of Trivial, ConsistentHash, HashRing, RoundRobin, LeastConnections, None, got nothing',
      ),
    ],
  ],
  [
    'endpoints on a virtual cluster, with a bad load balancer too',
    cluster({
      spec: { protocol: 'Echo' },
      endpoints: [{ spec: { address: 'x' } }],
      loadbalancer: { policy: 'x' },
    }),
    [
      issue(
        ['clusters', 0, 'loadbalancer', 'policy'],
        'expected one of Trivial, ConsistentHash, HashRing, RoundRobin, LeastConnections, None, got "x"',
      ),
      issue(['clusters', 0, 'endpoints'], 'Adding an endpoint to a cluster of type "Echo" is not supported'),
    ],
  ],
  [
    'endpoints on a Logger cluster',
    cluster({ spec: { Logger: {} }, endpoints: [{ spec: { address: 'x' } }] }),
    [
      issue(
        ['clusters', 0, 'endpoints'],
        'Adding an endpoint to a cluster of type "Logger" is not supported',
      ),
    ],
  ],
  [
    'endpoint without address',
    cluster({ spec: { protocol: 'UDP', port: 1 }, endpoints: [{ spec: { address: 'a' } }, { spec: {} }] }),
    [
      issue(
        ['clusters', 0, 'endpoints', 1, 'spec', 'address'],
        'an endpoint of a UDP cluster needs an address',
      ),
    ],
  ],
  [
    'endpoint without spec',
    cluster({ spec: { protocol: 'TCP', port: 1 }, endpoints: [{ name: 'e' }] }),
    [issue(['clusters', 0, 'endpoints', 0, 'spec'], 'required')],
  ],
  [
    'UDS endpoint without a path',
    cluster({ spec: { protocol: 'UnixDomainSocket' }, endpoints: [{ spec: {} }] }),
    [
      issue(
        ['clusters', 0, 'endpoints', 0, 'spec', 'address'],
        'an endpoint of a UnixDomainSocket cluster needs a socket path (address or filename)',
      ),
    ],
  ],
  [
    'zero endpoint weight',
    cluster({ spec: { protocol: 'UDP', port: 1 }, endpoints: [{ spec: { address: 'a' }, weight: 0 }] }),
    [issue(['clusters', 0, 'endpoints', 0, 'weight'], 'expected a positive integer, got 0')],
  ],
  [
    'Sync without query',
    cluster({ spec: { protocol: 'Sync' } }),
    [issue(['clusters', 0, 'spec', 'query'], 'required')],
  ],
  [
    'JSONSocket cluster without transport',
    cluster({ spec: { protocol: 'JSONSocket' } }),
    [issue(['clusters', 0, 'spec', 'transport'], 'required')],
  ],
  [
    'bad JSONSocket header entry',
    cluster({ spec: { protocol: 'JSONSocket', transport: { protocol: 'Echo' }, header: [{ copy: '/a' }] } }),
    [
      issue(
        ['clusters', 0, 'spec', 'header', 0],
        'expected a header entry {path: <from> | {from, to}} or {set: {key, value}}, got {"copy":"/a"}',
      ),
    ],
  ],
  [
    'track negative',
    listener({ protocol: 'TCP', port: 1 }, { options: { track: -5 } }),
    [issue(['listeners', 0, 'options', 'track'], 'expected a non-negative integer, got -5')],
  ],
  [
    'unknown log level',
    { admin: { log_level: 'loud' } },
    [
      issue(
        ['admin', 'log_level'],
        'expected one of silly, trace, verbose, debug, info, http, timing, notice, warn, error, fatal, silent, got "loud"',
      ),
    ],
  ],
  ['listeners not a list', { listeners: {} }, [issue(['listeners'], 'expected a list, got an object')]],
  ['config not an object', 'listeners', [issue([], 'expected an object, got "listeners"')]],
  [
    'duplicate listener names',
    {
      listeners: [
        { name: 'x', spec: { protocol: 'TCP', port: 1 }, rules: [] },
        { name: 'x', spec: { protocol: 'TCP', port: 2 }, rules: [] },
      ],
    },
    [issue(['listeners', 1, 'name'], 'Listener "x" already defined')],
  ],
  [
    'duplicate cluster names, one embedded in a route',
    {
      clusters: [{ name: 'echo', spec: { protocol: 'Echo' } }],
      routes: [{ name: 'r', destination: { name: 'echo', spec: { protocol: 'Echo' } } }],
    },
    [issue(['routes', 0, 'destination', 'name'], 'Cluster "echo" already defined')],
  ],
  [
    'duplicate endpoint names across clusters',
    {
      clusters: [
        { name: 'a', spec: { protocol: 'UDP', port: 1 }, endpoints: [{ name: 'e', spec: { address: 'x' } }] },
        { name: 'b', spec: { protocol: 'UDP', port: 1 }, endpoints: [{ name: 'e', spec: { address: 'y' } }] },
      ],
    },
    [issue(['clusters', 1, 'endpoints', 0, 'name'], 'EndPoint "e" already defined')],
  ],
  [
    'duplicate rule, route and rulelist names',
    {
      rulelists: [
        { name: 'rl', rules: [] },
        { name: 'rl', rules: [] },
      ],
      rules: [
        { name: 'ru', action: { route: 'r' } },
        { name: 'ru', action: { route: 'r' } },
      ],
      routes: [
        { name: 'r', destination: 'c' },
        { name: 'r', destination: 'c' },
      ],
    },
    [
      issue(['rulelists', 1, 'name'], 'RuleList "rl" already defined'),
      issue(['rules', 1, 'name'], 'Rule "ru" already defined'),
      issue(['routes', 1, 'name'], 'Route "r" already defined'),
    ],
  ],
  [
    'duplicate names reported together with schema errors',
    {
      listeners: [
        { name: 'x', spec: { protocol: 'TCP', port: -1 }, rules: [] },
        { name: 'x', spec: { protocol: 'TCP', port: 2 }, rules: [] },
      ],
    },
    [
      issue(['listeners', 0, 'spec', 'port'], 'expected an integer 0-65535, got -1'),
      issue(['listeners', 1, 'name'], 'Listener "x" already defined'),
    ],
  ],
];

describe('bad inputs are reported with their path and a clear message', () => {
  it.each(badInputs)('%s', (_title, input, expected) => {
    expect(validateConfig(input)).toEqual(expected);
    const thrown = (() => {
      try {
        parseAndNormaliseConfig(input);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(ConfigValidationError);
    expect((thrown as ConfigValidationError).issues).toEqual(expected);
  });

  it('formats a multi-problem error with one line per problem', () => {
    const error = new ConfigValidationError(
      validateConfig({ routes: [{ name: 'r', retry: { retry_on: 'x' } }] }),
      'config.yaml',
    );
    expect(error.message).toBe(
      'config.yaml: 2 problems:\n' +
        '  routes[0].retry.retry_on: expected one of never, connect-failure, disconnect, always, got "x"\n' +
        '  routes[0].destination: a route needs a destination (or its alias "cluster")',
    );
    expect(formatIssue({ path: [], message: 'm' })).toBe('m');
  });
});
