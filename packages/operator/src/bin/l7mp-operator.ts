#!/usr/bin/env node
import { startFromArgs } from '../main';
import type { RunningOperator } from '../run';

// Long enough to finish the in-flight sync and release the Lease; short of Kubernetes' 30 s grace.
const SHUTDOWN_GRACE_MS = 20_000;

async function main(): Promise<void> {
  process.title = 'l7mp-operator';
  const state: { running?: RunningOperator; signal?: NodeJS.Signals } = {};

  const shutdown = (operator: RunningOperator, signal: NodeJS.Signals): void => {
    operator.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      operator.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    operator.stop().then(
      () => {
        operator.logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        operator.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Installed before start-up: a signal while waiting for the API server still stops cleanly.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (state.signal !== undefined) {
      process.stderr.write(`l7mp-operator: second ${signal}: exiting at once\n`);
      process.exit(1);
    }
    state.signal = signal;
    if (state.running !== undefined) shutdown(state.running, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = await startFromArgs(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  });
  if (typeof started === 'number') {
    process.exitCode = started;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return;
  }
  state.running = started;
  process.on('uncaughtException', (error) => {
    started.logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    started.logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(1);
  });
  if (state.signal !== undefined) shutdown(started, state.signal);
}

void main();
