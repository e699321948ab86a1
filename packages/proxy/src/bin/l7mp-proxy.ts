#!/usr/bin/env node
import { startFromArgs } from '../cli';
import { runUntilSignal } from '../process';

const io = {
  stdout: (text: string) => process.stdout.write(text),
  stderr: (text: string) => process.stderr.write(text),
  env: process.env,
};

void runUntilSignal(
  'l7mp-proxy',
  () => startFromArgs(process.argv.slice(2), io),
  (running) => {
    for (const endpoint of running.api) {
      running.logger.info(
        { listener: endpoint.listener, ...running.proxy.listenerAddress(endpoint.listener) },
        'REST API ready',
      );
    }
  },
);
