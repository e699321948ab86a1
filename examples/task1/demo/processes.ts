import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

const STOP_GRACE_MS = 5000;

/** A process of a demo pod (a proxy or an echo app), its output going to a log file. */
export interface PodProcess {
  /** `<pod>/<container>`, as in `kubectl logs <pod> -c <container>`. */
  readonly label: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves once the process printed its `"msg":"ready"` line; rejects if it exits first. */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines it printed, for error reports. */
  tail(lines?: number): string;
}

/** A failure of the demo itself (bad option, a pod that did not start...), reported without a stack. */
export class DemoError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DemoError';
  }
}

export class ProcessStartError extends DemoError {
  constructor(label: string, reason: string, tail: string) {
    super(`${label} ${reason}${tail === '' ? '' : `; its last output:\n${tail}`}`);
    this.name = 'ProcessStartError';
  }
}

const READY = /"msg":"ready"/;

export function startProcess(
  label: string,
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; readyTimeoutMs: number },
): PodProcess {
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a' });
  log.on('error', () => {}); // a lost log line must not take the demo down
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const recent: string[] = [];
  let seenReady = false;
  let markReady: () => void = () => {};
  const onOutput = (chunk: Buffer): void => {
    log.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      recent.push(line);
      if (recent.length > 40) recent.shift();
      if (!seenReady && READY.test(line)) {
        seenReady = true;
        markReady();
      }
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  const tail = (lines = 15): string => recent.slice(-lines).join('\n');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (error) => {
      recent.push(`cannot start ${command}: ${error.message}`);
      resolve({ code: -1, signal: null });
    });
    child.once('close', (code, signal) => {
      log.end();
      resolve({ code, signal });
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new ProcessStartError(label, `was not ready within ${options.readyTimeoutMs} ms`, tail())),
      options.readyTimeoutMs,
    );
    markReady = () => {
      clearTimeout(timer);
      resolve();
    };
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (!seenReady) {
        reject(new ProcessStartError(label, `exited (code ${code}, signal ${signal}) before it was ready`, tail()));
      }
    });
  });
  // Whoever awaits `ready` sees the rejection; this keeps an unobserved one from crashing the demo.
  ready.catch(() => {});
  return { label, logFile: options.logFile, child, ready, exited, tail };
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
export async function stopProcess(process: PodProcess): Promise<void> {
  const { child } = process;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    await process.exited;
    return;
  }
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await process.exited;
  clearTimeout(timer);
}
