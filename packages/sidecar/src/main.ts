import { runUntilSignal } from 'l7mp-proxy';
import { announce, startApp, type AppOptions, type AppRole, type RunningApp } from './app';

/**
 * The process around a role: starts it from the command line, logs where it listens, and closes
 * every socket (and socket file) on SIGINT/SIGTERM. A signal during start-up still gets a clean stop.
 */
export function runMain<O extends AppOptions>(role: AppRole<O>): Promise<void> {
  return runUntilSignal<RunningApp<O>>(
    role.name,
    () =>
      startApp(role, process.argv.slice(2), {
        stdout: (text: string) => process.stdout.write(text),
        stderr: (text: string) => process.stderr.write(text),
        env: process.env,
      }),
    (app) => announce(app as RunningApp, role as AppRole),
  );
}
