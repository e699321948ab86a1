import { parseArgs } from 'node:util';

/** The command line of a demo echo app; every option is required. */
export function appArgs<K extends string>(app: string, names: readonly K[]): Record<K, string> {
  const { values } = parseArgs({
    options: Object.fromEntries(names.map((name) => [name, { type: 'string' as const }])),
  });
  const result = {} as Record<K, string>;
  for (const name of names) {
    const value = values[name];
    if (typeof value !== 'string' || value === '') {
      process.stderr.write(`${app}: --${name} is required (usage: ${names.map((n) => `--${n} <…>`).join(' ')})\n`);
      process.exit(2);
    }
    result[name] = value;
  }
  return result;
}

/** Runs `stop` once on SIGINT/SIGTERM, then exits. */
export function onStop(stop: () => void): void {
  const handler = (): void => {
    stop();
    process.exit(0);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
