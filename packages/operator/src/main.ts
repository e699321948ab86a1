import { parseArgs, type CliIo } from './cli';
import { startOperator, type RunningOperator, type StartDependencies } from './run';

/**
 * Parses the command line and starts the operator; resolves to it or to an exit code
 * (0 after --help/--version, 2 for invalid options, 1 when it could not start).
 */
export async function startFromArgs(
  argv: readonly string[],
  io: CliIo,
  deps: Omit<StartDependencies, 'env'> = {},
): Promise<RunningOperator | number> {
  const options = parseArgs(argv, io);
  if (typeof options === 'number') return options;
  try {
    return await startOperator(options, { ...deps, env: io.env });
  } catch (error) {
    io.stderr(`l7mp-operator: ${error instanceof Error ? error.message : String(error)}\n`);
    io.stderr('l7mp-operator: could not start\n');
    return 1;
  }
}
