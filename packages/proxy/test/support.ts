import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(packageDir, 'dist', 'bin', 'l7mp-proxy.cjs');

/** Builds the bin (bundled, no declarations) so the tests run what users run. */
export async function buildBin(): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [path.join(packageDir, '../../node_modules/tsup/dist/cli-default.js')],
    {
      cwd: packageDir,
      env: { ...process.env, L7MP_BIN_ONLY: '1' },
      timeout: 120_000,
    },
  );
  if (!existsSync(BIN)) throw new Error(`build did not produce ${BIN}`);
}

export interface RunningBin {
  child: ChildProcess;
  stderr: string[];
  stdout: string[];
  /** Resolves with the first stderr/stdout line matching `pattern` (rejects after 10 s or on exit). */
  waitForLine(pattern: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runBin(args: string[], env: NodeJS.ProcessEnv = {}): RunningBin {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  const stdout: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onLine = (sink: string[]) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      sink.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  };
  child.stderr!.on('data', onLine(stderr));
  child.stdout!.on('data', onLine(stdout));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLine = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const seen = [...stderr, ...stdout].find((line) => pattern.test(line));
      if (seen !== undefined) return resolve(seen);
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${pattern}; stderr:\n${stderr.join('\n')}`)),
        10_000,
      );
      waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`exited before a line matching ${pattern}; stderr:\n${stderr.join('\n')}`));
      });
    });
  return { child, stderr, stdout, waitForLine, exited };
}

/** The port of the REST API from the bin's "REST API ready" log line. */
export async function apiPort(bin: RunningBin): Promise<number> {
  const line = await bin.waitForLine(/REST API ready/);
  return (JSON.parse(line) as { port: number }).port;
}
