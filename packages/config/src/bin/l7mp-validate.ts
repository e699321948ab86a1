#!/usr/bin/env node
// Thin wrapper: all logic lives in validate-files.ts so that it can be tested in-process too.
import { runValidateCli } from '../validate-files';

runValidateCli(process.argv.slice(2), {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
}).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`l7mp-validate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
