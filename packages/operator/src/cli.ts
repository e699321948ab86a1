import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import packageJson from '../package.json';
import {
  LOG_LEVELS,
  OptionValueError,
  parseBoolean,
  parseDuration,
  parseLogLevel,
  parseNamespaces,
  parsePort,
  type OperatorLogLevel,
} from './options';

export const OPERATOR_VERSION: string = packageJson.version;

/** Everything the operator process is configured with (command line first, then environment). */
export interface OperatorOptions {
  /** A kubeconfig file; without it the in-cluster service account config is used. */
  kubeconfig?: string;
  /** Namespaces to watch; empty means the operator's own namespace (see allNamespaces). */
  namespaces: string[];
  /** Watch every namespace (needs the cluster-wide RBAC of the Helm chart). */
  allNamespaces: boolean;
  /** The port of each proxy's REST API (the original l7mp controller port). */
  proxyApiPort: number;
  /** A file holding the bearer token sent to the proxies' REST APIs. */
  tokenFile?: string;
  /** Full re-reconciliation period in milliseconds (repairs drift); 0 disables it. */
  resyncPeriodMs: number;
  metricsPort: number;
  metricsAddress: string;
  leaderElection: boolean;
  /** The Lease's namespace; defaults to the operator's own namespace. */
  leaderElectionNamespace?: string;
  /** The Lease's name. */
  leaderElectionId: string;
  logLevel: OperatorLogLevel;
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export const DEFAULTS = {
  proxyApiPort: 1234,
  resyncPeriod: '60s',
  metricsPort: 8080,
  metricsAddress: '0.0.0.0',
  leaderElectionId: 'l7mp-operator',
  logLevel: 'info' as OperatorLogLevel,
};

/** The environment variable read for each option the command line leaves unset. */
export const ENV_VARS = {
  kubeconfig: 'KUBECONFIG',
  namespaces: 'L7MP_NAMESPACES',
  allNamespaces: 'L7MP_ALL_NAMESPACES',
  proxyApiPort: 'L7MP_PROXY_API_PORT',
  tokenFile: 'L7MP_TOKEN_FILE',
  resyncPeriodMs: 'L7MP_RESYNC_PERIOD',
  metricsPort: 'L7MP_METRICS_PORT',
  metricsAddress: 'L7MP_METRICS_ADDRESS',
  leaderElection: 'L7MP_LEADER_ELECTION',
  leaderElectionNamespace: 'L7MP_LEADER_ELECTION_NAMESPACE',
  leaderElectionId: 'L7MP_LEADER_ELECTION_ID',
  logLevel: 'L7MP_LOG_LEVEL',
} as const satisfies Record<keyof OperatorOptions, string>;

type OptionKey = keyof typeof ENV_VARS;

// One parser per option, shared by the command line and the environment so both accept the same.
const PARSERS: { [K in OptionKey]: (option: string, value: string) => OperatorOptions[K] } = {
  kubeconfig: (_option, value) => value,
  namespaces: parseNamespaces,
  allNamespaces: parseBoolean,
  proxyApiPort: (option, value) => parsePort(option, value, false),
  tokenFile: (_option, value) => value,
  resyncPeriodMs: parseDuration,
  metricsPort: (option, value) => parsePort(option, value, true),
  metricsAddress: (_option, value) => value,
  leaderElection: parseBoolean,
  leaderElectionNamespace: (option, value) => {
    const [name, ...rest] = parseNamespaces(option, value);
    if (name === undefined || rest.length > 0)
      throw new OptionValueError(option, value, 'expected one namespace');
    return name;
  },
  leaderElectionId: (_option, value) => value,
  logLevel: parseLogLevel,
};

function commanderParser<K extends OptionKey>(key: K, flag: string) {
  return (value: string): OperatorOptions[K] => {
    try {
      return PARSERS[key](flag, value);
    } catch (error) {
      if (error instanceof OptionValueError) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

function withEnv(description: string, key: OptionKey): string {
  return `${description} (env ${ENV_VARS[key]})`;
}

function program(io: CliIo): Command {
  return new Command('l7mp-operator')
    .description(
      'The l7mp Kubernetes operator: renders VirtualService, Target and Rule resources plus pods into ' +
        'the configuration of every selected l7mp proxy and keeps each proxy in sync over its REST API.',
    )
    .addOption(
      new Option(
        '--kubeconfig <file>',
        withEnv('kubeconfig file; without it the in-cluster config', 'kubeconfig'),
      ),
    )
    .addOption(
      new Option(
        '-n, --namespace <names>',
        withEnv(
          'namespace to watch; repeat or comma-separate for several (default: own namespace)',
          'namespaces',
        ),
      ).argParser((value: string, previous: string[] | undefined) => [
        ...(previous ?? []),
        ...commanderParser('namespaces', '--namespace')(value),
      ]),
    )
    .addOption(new Option('-A, --all-namespaces', withEnv('watch every namespace', 'allNamespaces')))
    .addOption(
      new Option('--proxy-api-port <port>', withEnv("port of each proxy's REST API", 'proxyApiPort'))
        .default(DEFAULTS.proxyApiPort)
        .argParser(commanderParser('proxyApiPort', '--proxy-api-port')),
    )
    .addOption(
      new Option(
        '--token-file <file>',
        withEnv("file holding the bearer token for the proxies' REST API", 'tokenFile'),
      ),
    )
    .addOption(
      new Option(
        '--resync-period <duration>',
        withEnv('period of full re-reconciliation that repairs drift (30s, 5m, 0 = off)', 'resyncPeriodMs'),
      )
        .default(parseDuration('--resync-period', DEFAULTS.resyncPeriod), DEFAULTS.resyncPeriod)
        .argParser(commanderParser('resyncPeriodMs', '--resync-period')),
    )
    .addOption(
      new Option(
        '--metrics-port <port>',
        withEnv('port serving /metrics, /healthz and /readyz (0 = any free port)', 'metricsPort'),
      )
        .default(DEFAULTS.metricsPort)
        .argParser(commanderParser('metricsPort', '--metrics-port')),
    )
    .addOption(
      new Option(
        '--metrics-address <address>',
        withEnv('address the metrics server binds to', 'metricsAddress'),
      ).default(DEFAULTS.metricsAddress),
    )
    .addOption(
      new Option('--leader-election', withEnv('take part in leader election (default)', 'leaderElection')),
    )
    .addOption(new Option('--no-leader-election', 'run without leader election (a single replica only)'))
    .addOption(
      new Option(
        '--leader-election-namespace <name>',
        withEnv('namespace of the leader election Lease (default: own namespace)', 'leaderElectionNamespace'),
      ).argParser(commanderParser('leaderElectionNamespace', '--leader-election-namespace')),
    )
    .addOption(
      new Option(
        '--leader-election-id <name>',
        withEnv('name of the leader election Lease', 'leaderElectionId'),
      ).default(DEFAULTS.leaderElectionId),
    )
    .addOption(
      new Option('-l, --log-level <level>', withEnv('log level', 'logLevel'))
        .choices([...LOG_LEVELS])
        .default(DEFAULTS.logLevel),
    )
    .version(OPERATOR_VERSION, '-v, --version')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
}

interface CommanderValues {
  kubeconfig?: string;
  namespace?: string[];
  allNamespaces?: boolean;
  proxyApiPort: number;
  tokenFile?: string;
  resyncPeriod: number;
  metricsPort: number;
  metricsAddress: string;
  leaderElection?: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  logLevel: OperatorLogLevel;
}

// Commander's attribute name of each option (where it differs from the OperatorOptions key).
const COMMANDER_KEYS: Record<OptionKey, string> = {
  kubeconfig: 'kubeconfig',
  namespaces: 'namespace',
  allNamespaces: 'allNamespaces',
  proxyApiPort: 'proxyApiPort',
  tokenFile: 'tokenFile',
  resyncPeriodMs: 'resyncPeriod',
  metricsPort: 'metricsPort',
  metricsAddress: 'metricsAddress',
  leaderElection: 'leaderElection',
  leaderElectionNamespace: 'leaderElectionNamespace',
  leaderElectionId: 'leaderElectionId',
  logLevel: 'logLevel',
};

/**
 * Parses the command line, then fills every option it left unset from the environment.
 * Returns the options, or an exit code: 0 after --help/--version, 2 for any invalid value.
 */
export function parseArgs(argv: readonly string[], io: CliIo): OperatorOptions | number {
  const command = program(io);
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const values = command.opts<CommanderValues>();
  const options: OperatorOptions = {
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    namespaces: values.namespace ?? [],
    allNamespaces: values.allNamespaces === true,
    proxyApiPort: values.proxyApiPort,
    ...(values.tokenFile !== undefined ? { tokenFile: values.tokenFile } : {}),
    resyncPeriodMs: values.resyncPeriod,
    metricsPort: values.metricsPort,
    metricsAddress: values.metricsAddress,
    leaderElection: values.leaderElection !== false,
    ...(values.leaderElectionNamespace !== undefined
      ? { leaderElectionNamespace: values.leaderElectionNamespace }
      : {}),
    leaderElectionId: values.leaderElectionId,
    logLevel: values.logLevel,
  };
  const record = options as unknown as Record<OptionKey, unknown>;
  for (const key of Object.keys(ENV_VARS) as OptionKey[]) {
    if (command.getOptionValueSource(COMMANDER_KEYS[key]) === 'cli') continue;
    const raw = io.env[ENV_VARS[key]];
    if (raw === undefined || raw.trim() === '') continue;
    try {
      record[key] = PARSERS[key](ENV_VARS[key], raw);
    } catch (error) {
      if (!(error instanceof OptionValueError)) throw error;
      io.stderr(`l7mp-operator: ${error.message}\n`);
      return 2;
    }
  }
  if (options.allNamespaces && options.namespaces.length > 0) {
    io.stderr('l7mp-operator: --all-namespaces and --namespace exclude each other\n');
    return 2;
  }
  return options;
}
