import { readFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import {
  formatIssue,
  formatOfFile,
  parseDocument,
  validateConfig,
  ConfigValidationError,
  LOG_LEVELS,
} from '@l7mp/config';
import { ValidationError, PROXY_VERSION } from '@l7mp/core';
import { startProxy, type RunningProxy } from './start';

export type { RunningProxy };

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export interface CliOptions {
  config?: string;
  logLevel?: string;
  strict?: boolean;
  tokenFile?: string;
}

function program(io: CliIo): Command {
  return new Command('l7mp-proxy')
    .description(
      'l7mp: a multiprotocol Layer-7 proxy. Without -c, serves only the REST API on 127.0.0.1:1234.',
    )
    .addOption(new Option('-c, --config <file>', 'static config file (YAML or JSON)'))
    .addOption(
      new Option('-l, --log-level <level>', 'log level (overrides admin.log_level)').choices([...LOG_LEVELS]),
    )
    .addOption(new Option('-s, --strict', 'strict mode: validate every REST request strictly (admin.strict)'))
    .addOption(
      new Option(
        '--token-file <file>',
        'file holding the REST API bearer token (admin.token_file; or set L7MP_API_TOKEN)',
      ),
    )
    .version(PROXY_VERSION, '-v, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
}

/** Parses the command line; returns the options or an exit code (help, version, usage error). */
export function parseArgs(argv: readonly string[], io: CliIo): CliOptions | number {
  const command = program(io);
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return command.opts<CliOptions>();
}

/** Reads and checks a config file; every problem is printed as `<file>: <path>: <message>`. */
export async function loadConfig(file: string, io: CliIo): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    io.stderr(`${file}: cannot read: ${(error as Error).message}\n`);
    return undefined;
  }
  let document: unknown;
  try {
    document = parseDocument(text, formatOfFile(file), file) ?? {};
  } catch (error) {
    const issues =
      error instanceof ConfigValidationError ? error.issues : [{ path: [], message: String(error) }];
    for (const issue of issues) io.stderr(`${file}: ${formatIssue(issue)}\n`);
    return undefined;
  }
  const issues = validateConfig(document);
  if (issues.length > 0) {
    for (const issue of issues) io.stderr(`${file}: ${formatIssue(issue)}\n`);
    io.stderr(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was started\n`);
    return undefined;
  }
  return document;
}

/** Starts the proxy for a command line; resolves to the running proxy or an exit code. */
export async function startFromArgs(argv: readonly string[], io: CliIo): Promise<RunningProxy | number> {
  const options = parseArgs(argv, io);
  if (typeof options === 'number') return options;
  let config: unknown;
  if (options.config !== undefined) {
    config = await loadConfig(options.config, io);
    if (config === undefined) return 1;
  }
  try {
    return await startProxy({
      ...(config !== undefined ? { config } : {}),
      ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
      ...(options.strict === true ? { strict: true } : {}),
      ...(options.tokenFile !== undefined ? { tokenFile: options.tokenFile } : {}),
      env: io.env,
    });
  } catch (error) {
    const where = options.config ?? 'l7mp-proxy';
    if (error instanceof ValidationError) {
      for (const issue of error.issues) io.stderr(`${where}: ${formatIssue(issue)}\n`);
    } else {
      io.stderr(`${where}: ${(error as Error).message}\n`);
    }
    io.stderr(`${where}: could not start; nothing is running\n`);
    return 1;
  }
}
