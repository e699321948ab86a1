import type { Logger } from '@l7mp/core';

const SHUTDOWN_GRACE_MS = 5000;

/** What a long-running process of this repository starts: something with logs and a close. */
export interface ClosableApp {
  logger: Logger;
  close(): Promise<void>;
}

/**
 * The process around an app: starts it, reports when it is ready, and on SIGINT/SIGTERM closes
 * every socket (and socket file) and exits 0 (1 if closing fails or takes over 5 s). Signal
 * handlers are installed before the app binds anything, so a signal during start-up still gets a
 * clean stop; a second signal exits at once. `start` resolving to a number is an exit code.
 */
export async function runUntilSignal<A extends ClosableApp>(
  name: string,
  start: () => Promise<A | number>,
  ready: (app: A) => void,
): Promise<void> {
  process.title = name;
  const state: { running?: A; stopRequested?: NodeJS.Signals } = {};

  const shutdown = (app: A, signal: NodeJS.Signals): void => {
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
    if (state.stopRequested !== undefined) {
      process.stderr.write(`${name}: second ${signal}: exiting at once\n`);
      process.exit(1);
    }
    state.stopRequested = signal;
    if (state.running !== undefined) shutdown(state.running, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = await start();
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
  if (state.stopRequested !== undefined) {
    shutdown(started, state.stopRequested);
    return;
  }
  ready(started);
}
