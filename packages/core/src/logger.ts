import { pino, type Logger as PinoLogger } from 'pino';

/** The structured logger every part of the proxy writes to (pino). */
export type Logger = PinoLogger;

/** A logger that discards everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
