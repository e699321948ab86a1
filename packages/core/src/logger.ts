import { pino, type Level, type Logger as PinoLogger } from 'pino';

/** The structured logger every part of the proxy writes to (pino). */
export type Logger = PinoLogger;

/** A logger that discards everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

// pino has fewer levels than the anchor's npmlog; each anchor level maps to the nearest one.
const PINO_LEVELS: Record<string, Level | 'silent'> = {
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

/** The pino level for an `admin.log_level` (npmlog or pino names); unknown names mean `info`. */
export function pinoLevel(level: string | undefined): Level | 'silent' {
  return (level !== undefined ? PINO_LEVELS[level] : undefined) ?? 'info';
}
