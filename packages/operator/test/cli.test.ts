import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULTS,
  ENV_VARS,
  OPERATOR_VERSION,
  parseArgs,
  type CliIo,
  type OperatorOptions,
} from '../src/cli';

function io(env: NodeJS.ProcessEnv = {}): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, env, stdout: (text) => out.push(text), stderr: (text) => err.push(text) };
}

function parsed(argv: string[], env: NodeJS.ProcessEnv = {}): OperatorOptions {
  const sink = io(env);
  const result = parseArgs(argv, sink);
  if (typeof result === 'number') throw new Error(`exit ${result}: ${sink.err.join('')}`);
  return result;
}

describe('l7mp-operator command line', () => {
  it('has defaults for everything but the kubeconfig and the token', () => {
    expect(parsed([])).toEqual({
      namespaces: [],
      allNamespaces: false,
      proxyApiPort: 1234,
      resyncPeriodMs: 60_000,
      metricsPort: 8080,
      metricsAddress: '0.0.0.0',
      leaderElection: true,
      leaderElectionId: 'l7mp-operator',
      logLevel: 'info',
    });
  });

  it('takes every flag', () => {
    expect(
      parsed([
        '--kubeconfig',
        '/k/config',
        '-n',
        'default,team-a',
        '--namespace',
        'team-b',
        '--proxy-api-port',
        '9000',
        '--token-file',
        '/t/token',
        '--resync-period',
        '5m',
        '--metrics-port',
        '0',
        '--metrics-address',
        '127.0.0.1',
        '--no-leader-election',
        '--leader-election-namespace',
        'ops',
        '--leader-election-id',
        'my-lease',
        '-l',
        'debug',
      ]),
    ).toEqual({
      kubeconfig: '/k/config',
      namespaces: ['default', 'team-a', 'team-b'],
      allNamespaces: false,
      proxyApiPort: 9000,
      tokenFile: '/t/token',
      resyncPeriodMs: 300_000,
      metricsPort: 0,
      metricsAddress: '127.0.0.1',
      leaderElection: false,
      leaderElectionNamespace: 'ops',
      leaderElectionId: 'my-lease',
      logLevel: 'debug',
    });
    expect(parsed(['--all-namespaces']).allNamespaces).toBe(true);
    expect(parsed(['--leader-election']).leaderElection).toBe(true);
  });

  it('reads the environment for every option the command line leaves unset', () => {
    const env = {
      KUBECONFIG: '/env/kubeconfig',
      L7MP_NAMESPACES: 'a b,c',
      L7MP_PROXY_API_PORT: '4321',
      L7MP_TOKEN_FILE: '/env/token',
      L7MP_RESYNC_PERIOD: '0',
      L7MP_METRICS_PORT: '9100',
      L7MP_METRICS_ADDRESS: '::1',
      L7MP_LEADER_ELECTION: 'false',
      L7MP_LEADER_ELECTION_NAMESPACE: 'kube-system',
      L7MP_LEADER_ELECTION_ID: 'env-lease',
      L7MP_LOG_LEVEL: 'warn',
    };
    expect(parsed([], env)).toEqual({
      kubeconfig: '/env/kubeconfig',
      namespaces: ['a', 'b', 'c'],
      allNamespaces: false,
      proxyApiPort: 4321,
      tokenFile: '/env/token',
      resyncPeriodMs: 0,
      metricsPort: 9100,
      metricsAddress: '::1',
      leaderElection: false,
      leaderElectionNamespace: 'kube-system',
      leaderElectionId: 'env-lease',
      logLevel: 'warn',
    });
    expect(parsed([], { L7MP_ALL_NAMESPACES: 'yes' }).allNamespaces).toBe(true);
  });

  it('prefers the command line over the environment, and ignores empty variables', () => {
    const options = parsed(['--metrics-port', '1', '--leader-election', '-n', 'x'], {
      L7MP_METRICS_PORT: '2',
      L7MP_LEADER_ELECTION: 'off',
      L7MP_NAMESPACES: 'y',
      L7MP_LOG_LEVEL: '',
    });
    expect(options.metricsPort).toBe(1);
    expect(options.leaderElection).toBe(true);
    expect(options.namespaces).toEqual(['x']);
    expect(options.logLevel).toBe(DEFAULTS.logLevel);
  });

  it.each([
    [['--proxy-api-port', '0'], /--proxy-api-port: invalid value "0": must be 1\.\.65535/],
    [['--proxy-api-port', 'http'], /not a port number/],
    [['--metrics-port', '70000'], /must be 0\.\.65535/],
    [['--resync-period', '5 minutes'], /expected a duration such as 30s/],
    [['--namespace', 'Bad_NS'], /"Bad_NS" is not a namespace name/],
    [['--log-level', 'loud'], /Allowed choices are trace, debug/],
    [['--unknown'], /unknown option '--unknown'/],
    [['extra-argument'], /too many arguments/],
    [['-A', '-n', 'x'], /--all-namespaces and --namespace exclude each other/],
  ])('rejects %j with exit code 2 and says why', (argv, message) => {
    const sink = io();
    expect(parseArgs(argv, sink)).toBe(2);
    expect(sink.err.join('')).toMatch(message);
  });

  it.each([
    [{ L7MP_METRICS_PORT: 'abc' }, /L7MP_METRICS_PORT: invalid value "abc": not a port number/],
    [
      { L7MP_LEADER_ELECTION: 'maybe' },
      /L7MP_LEADER_ELECTION: invalid value "maybe": expected true or false/,
    ],
    [{ L7MP_LOG_LEVEL: 'loud' }, /L7MP_LOG_LEVEL: invalid value "loud": expected one of trace/],
    [{ L7MP_LEADER_ELECTION_NAMESPACE: 'a,b' }, /expected one namespace/],
    [{ L7MP_RESYNC_PERIOD: '1y' }, /L7MP_RESYNC_PERIOD/],
  ])('rejects the environment %j with exit code 2', (env, message) => {
    const sink = io(env);
    expect(parseArgs([], sink)).toBe(2);
    expect(sink.err.join('')).toMatch(message);
  });

  it('prints help naming every flag and its environment variable, exit code 0', () => {
    const sink = io();
    expect(parseArgs(['--help'], sink)).toBe(0);
    const help = sink.out.join('');
    for (const flag of [
      '--kubeconfig',
      '--namespace',
      '--all-namespaces',
      '--proxy-api-port',
      '--token-file',
      '--resync-period',
      '--metrics-port',
      '--leader-election',
      '--no-leader-election',
      '--log-level',
    ]) {
      expect(help).toContain(flag);
    }
    for (const variable of Object.values(ENV_VARS)) expect(help).toContain(variable);
  });

  it('prints the package version', () => {
    const sink = io();
    expect(parseArgs(['--version'], sink)).toBe(0);
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(sink.out.join('').trim()).toBe(pkg.version);
    expect(OPERATOR_VERSION).toBe(pkg.version);
  });
});
