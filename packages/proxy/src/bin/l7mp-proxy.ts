#!/usr/bin/env node
import type { RunningProxy } from '../cli';
import { startFromArgs } from '../cli';

const SHUTDOWN_GRACE_MS = 5000;

async function main(): Promise<void> {
  process.title = 'l7mp-proxy';
  const state: { running?: RunningProxy } = {};
  let stopRequested: NodeJS.Signals | undefined;

  const shutdown = (proxy: RunningProxy, signal: NodeJS.Signals): void => {
    proxy.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      proxy.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    proxy.close().then(
      () => process.exit(0),
      (error: unknown) => {
        proxy.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Installed before anything binds: a signal during start-up still gets a clean shutdown.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested !== undefined) {
      process.stderr.write(`l7mp-proxy: second ${signal}: exiting at once\n`);
      process.exit(1);
    }
    stopRequested = signal;
    if (state.running !== undefined) shutdown(state.running, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const io = {
    stdout: (text: string) => process.stdout.write(text),
    stderr: (text: string) => process.stderr.write(text),
    env: process.env,
  };
  const started = await startFromArgs(process.argv.slice(2), io);
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
  for (const endpoint of started.api) {
    logger.info(
      { listener: endpoint.listener, ...started.proxy.listenerAddress(endpoint.listener) },
      'REST API ready',
    );
  }
}

void main();
