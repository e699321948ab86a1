// Helpers for tests that run the built app bins as child processes.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const WAIT_MS = 10_000;

/** Builds a package's bin with its tsup config (bundled, no declarations); returns the bin path. */
export async function buildPackageBin(packageDir: string, bin: string): Promise<string> {
  const tsup = path.resolve(packageDir, '../../node_modules/tsup/dist/cli-default.js');
  await promisify(execFile)(process.execPath, [tsup], {
    cwd: packageDir,
    env: { ...process.env, L7MP_BIN_ONLY: '1' },
    timeout: 120_000,
  });
  const file = path.join(packageDir, 'dist', 'bin', `${bin}.cjs`);
  if (!existsSync(file)) throw new Error(`building ${packageDir} did not produce ${file}`);
  return file;
}

export interface BinExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningBin {
  child: ChildProcess;
  /** Every non-empty line printed so far, stdout and stderr apart. */
  stdout: string[];
  stderr: string[];
  /** The first line (either stream) matching `pattern`; rejects after 10 s or when the process exits. */
  waitForLine(pattern: RegExp): Promise<string>;
  exited: Promise<BinExit>;
  /** SIGKILL if still running; resolves once it is gone. */
  kill(): Promise<void>;
}

export function runBin(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningBin {
  const child = spawn(process.execPath, [file, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const collect = (sink: string[]) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      sink.push(line);
      for (const waiter of waiters) {
        if (!waiter.pattern.test(line)) continue;
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  };
  child.stdout?.on('data', collect(stdout));
  child.stderr?.on('data', collect(stderr));
  const exited = new Promise<BinExit>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const waitForLine = (pattern: RegExp): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const seen = [...stderr, ...stdout].find((line) => pattern.test(line));
      if (seen !== undefined) return resolve(seen);
      const output = () => [...stderr, ...stdout].join('\n');
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no line matching ${pattern} within ${WAIT_MS} ms; output:\n${output()}`));
      }, WAIT_MS);
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      waiters.add(waiter);
      void exited.then(() => {
        if (!waiters.delete(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`exited before a line matching ${pattern}; output:\n${output()}`));
      });
    });
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { child, stdout, stderr, waitForLine, exited, kill };
}

/** The bound address of a listener from the app's `REST API ready` / `listener ready` log lines. */
export async function listenerReady(
  bin: RunningBin,
  listener: string,
): Promise<{ address: string; port: number }> {
  const line = await bin.waitForLine(
    new RegExp(`"listener":"${listener}".*"msg":"(REST API|listener) ready"`),
  );
  return JSON.parse(line) as { address: string; port: number };
}
