import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const packageDir = path.resolve(__dirname, '..', '..');
export const BUNDLE = path.join(packageDir, 'dist', 'l7mp-operator.cjs');

/** Builds dist/l7mp-operator.cjs the way the image build does (no declarations). */
export async function buildBundle(): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [path.join(packageDir, '../../node_modules/tsup/dist/cli-default.js')],
    {
      cwd: packageDir,
      env: { ...process.env, L7MP_BIN_ONLY: '1' },
      timeout: 120_000,
    },
  );
  if (!existsSync(BUNDLE)) throw new Error(`the build did not produce ${BUNDLE}`);
}

export interface RunningBundle {
  child: ChildProcess;
  output: string[];
  /** The first output line matching `pattern` (rejects on exit or after 15 s). */
  waitForLine(pattern: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs a copy of the bundle with a clean environment (only PATH plus `env`). `file` should lie
 * outside the repository: require() resolves from the file's own folder, so a copy in a temp dir
 * proves that nothing is loaded from node_modules.
 */
export function runBundle(file: string, args: string[], env: NodeJS.ProcessEnv): RunningBundle {
  const child = spawn(process.execPath, [file, ...args], {
    cwd: path.dirname(file),
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const onData = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      output.push(line);
      for (const waiter of waiters) {
        if (waiter.pattern.test(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLine = (pattern: RegExp): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const seen = output.find((line) => pattern.test(line));
      if (seen !== undefined) return resolve(seen);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no line matching ${pattern}; output:\n${output.join('\n')}`));
      }, 15_000);
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
        reject(new Error(`exited before a line matching ${pattern}; output:\n${output.join('\n')}`));
      });
    });
  return { child, output, waitForLine, exited };
}
