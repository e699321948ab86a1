import { pino, type DestinationStream, type Level, type Logger } from 'pino';

/** pino levels for the anchor's npmlog level names (silly ... silent). */
const LEVELS: Record<string, Level | 'silent'> = {
  silly: 'trace',
  trace: 'trace',
  verbose: 'debug',
  debug: 'debug',
  info: 'info',
  http: 'info',
  timing: 'info',
  notice: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
  silent: 'silent',
};

export function pinoLevel(level: string | undefined): Level | 'silent' {
  return (level !== undefined ? LEVELS[level] : undefined) ?? 'info';
}

/** Where `admin.log_file` sends logs: `stdout`, `stderr` (the default) or a file it appends to. */
export function logDestination(logFile: string | undefined): DestinationStream {
  if (logFile === undefined || logFile === 'stderr') return pino.destination({ dest: 2, sync: true });
  if (logFile === 'stdout' || logFile === '-') return pino.destination({ dest: 1, sync: true });
  return pino.destination({ dest: logFile, append: true, mkdir: true, sync: true });
}

export function createLogger(options: { level?: string; logFile?: string }): Logger {
  return pino({ level: pinoLevel(options.level), base: { name: 'l7mp' } }, logDestination(options.logFile));
}
