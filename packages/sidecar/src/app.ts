import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { formatIssue, LOG_LEVELS, type ConfigIssue } from '@l7mp/config';
import { PROXY_VERSION } from '@l7mp/core';
import { DEFAULT_API_PORT } from './config';
import { localModeTransports } from './local-mode';
import { mergeConfigs } from './merge';
import { ALL_TRANSPORTS, loadConfig, startProxy, type CliIo, type RunningProxy } from './proxy-app';

/** The options every l7mp app role understands. */
export interface AppOptions {
  apiAddress: string;
  apiPort: number;
  config?: string;
  logLevel?: string;
  strict?: boolean;
  tokenFile?: string;
  listenerAddress?: string;
  udsDir?: string;
  podName?: string;
}

/** What makes a role (sidecar, ingress) differ: its name, its extra flags and its defaults. */
export interface AppRole<O extends AppOptions = AppOptions> {
  name: string;
  description: string;
  /** Adds the role's own options to the command line. */
  extendCommand?(command: Command): void;
  defaultConfig(options: O): Record<string, unknown>;
}

export interface RunningApp<O extends AppOptions = AppOptions> extends RunningProxy {
  options: O;
}

/** Parses a TCP/UDP port flag (0 asks the kernel for a free one, useful in tests). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new InvalidArgumentError(`expected an integer 0-65535, got "${value}"`);
  }
  return port;
}

function command<O extends AppOptions>(role: AppRole<O>, io: CliIo): Command {
  const podIp = io.env.POD_IP !== undefined && io.env.POD_IP !== '' ? io.env.POD_IP : undefined;
  const program = new Command(role.name)
    .description(role.description)
    .addOption(
      new Option('--api-address <address>', 'address of the REST API (env POD_IP)').default(
        podIp ?? '127.0.0.1',
        podIp !== undefined ? `$POD_IP = ${podIp}` : '127.0.0.1 when POD_IP is unset',
      ),
    )
    .addOption(
      new Option('--api-port <port>', 'port of the REST API').argParser(parsePort).default(DEFAULT_API_PORT),
    )
    .addOption(
      new Option('-c, --config <file>', 'extra static config (YAML or JSON) merged into the defaults'),
    )
    .addOption(
      new Option('-l, --log-level <level>', 'log level (overrides admin.log_level)').choices([...LOG_LEVELS]),
    )
    .addOption(new Option('-s, --strict', 'validate every REST request strictly (admin.strict)'))
    .addOption(
      new Option(
        '--token-file <file>',
        'file holding the REST API bearer token (admin.token_file; or set L7MP_API_TOKEN)',
      ),
    )
    .addOption(
      // From io.env rather than commander's .env(), which reads process.env.
      new Option('--pod-name <name>', 'name of this pod, for the logs (env POD_NAME)').default(
        io.env.POD_NAME !== undefined && io.env.POD_NAME !== '' ? io.env.POD_NAME : undefined,
      ),
    )
    .addOption(
      new Option(
        '--listener-address <address>',
        'local mode only: listeners that name no address bind this one instead of every interface',
      ),
    )
    .addOption(
      new Option(
        '--uds-dir <dir>',
        'local mode only: absolute Unix socket paths are moved into this directory (/tmp/a.sock -> <dir>/a.sock)',
      ),
    );
  role.extendCommand?.(program);
  return program
    .version(PROXY_VERSION, '-v, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
}

/** Parses the command line; returns the options, or an exit code (0 for help/version, 2 for usage errors). */
export function parseAppArgs<O extends AppOptions>(
  role: AppRole<O>,
  argv: readonly string[],
  io: CliIo,
): O | number {
  const program = command(role, io);
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return program.opts<O>();
}

function hasIssues(error: unknown): error is Error & { issues: readonly ConfigIssue[] } {
  return error instanceof Error && Array.isArray((error as { issues?: unknown }).issues);
}

/** Starts a role for a command line; resolves to the running app or an exit code. */
export async function startApp<O extends AppOptions>(
  role: AppRole<O>,
  argv: readonly string[],
  io: CliIo,
): Promise<RunningApp<O> | number> {
  const options = parseAppArgs(role, argv, io);
  if (typeof options === 'number') return options;
  let extra: unknown;
  if (options.config !== undefined) {
    extra = await loadConfig(options.config, io);
    if (extra === undefined) return 1;
  }
  const config = mergeConfigs(role.defaultConfig(options), extra);
  const transports = localModeTransports(ALL_TRANSPORTS, {
    ...(options.listenerAddress !== undefined ? { listenerAddress: options.listenerAddress } : {}),
    ...(options.udsDir !== undefined ? { udsDir: options.udsDir } : {}),
  });
  try {
    const running = await startProxy({
      config,
      transports,
      env: io.env,
      ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
      ...(options.strict === true ? { strict: true } : {}),
      ...(options.tokenFile !== undefined ? { tokenFile: options.tokenFile } : {}),
    });
    return Object.assign(running, { options });
  } catch (error) {
    const where = options.config ?? role.name;
    if (hasIssues(error)) {
      for (const issue of error.issues) io.stderr(`${where}: ${formatIssue(issue)}\n`);
    } else {
      io.stderr(`${where}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
    io.stderr(`${role.name}: could not start; nothing is running\n`);
    return 1;
  }
}

/** Logs where every listener is bound (the API ones as "REST API ready"), then "ready". */
export function announce(app: RunningApp, role: AppRole): void {
  const { proxy, logger, api } = app;
  const apiNames = new Set(api.map((endpoint) => endpoint.listener));
  for (const listener of proxy.dumpConfig().listeners ?? []) {
    const bound = proxy.listenerAddress(listener.name);
    const message = apiNames.has(listener.name) ? 'REST API ready' : 'listener ready';
    logger.info({ listener: listener.name, protocol: listener.spec.protocol, ...bound }, message);
  }
  logger.info({ app: role.name, pod: app.options.podName }, 'ready');
}
