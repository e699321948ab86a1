import { announce, startApp, type AppOptions, type AppRole, type RunningApp } from './app';

const SHUTDOWN_GRACE_MS = 5000;

/**
 * The process around a role: starts it from the command line, logs where it listens, and closes
 * every socket (and socket file) on SIGINT/SIGTERM. A signal during start-up still gets a clean stop.
 */
export async function runMain<O extends AppOptions>(role: AppRole<O>): Promise<void> {
  process.title = role.name;
  const state: { running?: RunningApp<O> } = {};
  let stopRequested: NodeJS.Signals | undefined;

  const shutdown = (app: RunningApp<O>, signal: NodeJS.Signals): void => {
    app.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      app.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested !== undefined) {
      process.stderr.write(`${role.name}: second ${signal}: exiting at once\n`);
      process.exit(1);
    }
    stopRequested = signal;
    if (state.running !== undefined) shutdown(state.running, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = await startApp(role, process.argv.slice(2), {
    stdout: (text: string) => process.stdout.write(text),
    stderr: (text: string) => process.stderr.write(text),
    env: process.env,
  });
  if (typeof started === 'number') {
    process.exitCode = started;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return;
  }
  state.running = started;
  const { logger } = started;
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });
  if (stopRequested !== undefined) {
    shutdown(started, stopRequested);
    return;
  }
  announce(started as RunningApp, role as AppRole);
}
