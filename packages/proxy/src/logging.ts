import { pinoLevel } from '@l7mp/core';
import { pino, type DestinationStream, type Logger } from 'pino';

export { pinoLevel };

/** Where `admin.log_file` sends logs: `stdout`, `stderr` (the default) or a file it appends to. */
export function logDestination(logFile: string | undefined): DestinationStream {
  if (logFile === undefined || logFile === 'stderr') return pino.destination({ dest: 2, sync: true });
  if (logFile === 'stdout' || logFile === '-') return pino.destination({ dest: 1, sync: true });
  return pino.destination({ dest: logFile, append: true, mkdir: true, sync: true });
}

export function createLogger(options: { level?: string; logFile?: string }): Logger {
  return pino({ level: pinoLevel(options.level), base: { name: 'l7mp' } }, logDestination(options.logFile));
}
