import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBins, DemoError } from './topology';

/** A pod process that exited although nobody asked it to. */
export interface CrashedProcess {
  label: string;
  tail(): string;
}

/** Waits for Ctrl-C (`stopped`) or a crashed pod; returns the exit code of the demo. */
export async function runUntilStopped(
  stopped: Promise<unknown>,
  unexpectedExit: Promise<CrashedProcess>,
): Promise<number> {
  const crashed = await Promise.race([stopped.then(() => undefined), unexpectedExit]);
  if (crashed === undefined) return 0;
  process.stderr.write(`${crashed.label} exited unexpectedly:\n${crashed.tail()}\n`);
  return 1;
}

/** Prints a failure: a DemoError's message alone, anything else with its stack. */
export function reportFailure(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`demo: ${message}\n`);
  if (!(error instanceof DemoError) && error instanceof Error && error.stack !== undefined) {
    process.stderr.write(`${error.stack}\n`);
  }
  return 1;
}

/** Runs `main` and exits with its code when `moduleUrl` is the script node was started with. */
export function runIfInvoked(moduleUrl: string, main: () => Promise<number>): void {
  const invoked = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(moduleUrl);
  if (!invoked) return;
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`demo: ${String(error)}\n`);
      process.exit(1);
    },
  );
}

/**
 * `stopped` resolves on the first SIGINT/SIGTERM (after printing `message`); a second one exits
 * at once with 130, as a shell user pressing Ctrl-C twice expects.
 */
export function stopSignal(message: string): { stopped: Promise<void>; interrupted(): boolean } {
  let interrupted = false;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (): void => {
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stdout.write(`\n${message}\n`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return { stopped, interrupted: () => interrupted };
}

/** The directory of the sidecar and ingress bins: the one given, or a fresh build. */
export async function binDirOrBuild(binDir: string | undefined): Promise<string> {
  if (binDir !== undefined) return binDir;
  process.stdout.write('Building l7mp-sidecar and l7mp-ingress...\n');
  return buildBins();
}
