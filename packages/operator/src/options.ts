/** Parsers for the operator's command-line and environment values; each throws OptionValueError. */

export class OptionValueError extends Error {
  constructor(
    readonly option: string,
    readonly value: string,
    reason: string,
  ) {
    super(`${option}: invalid value ${JSON.stringify(value)}: ${reason}`);
    this.name = 'OptionValueError';
  }
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type OperatorLogLevel = (typeof LOG_LEVELS)[number];

/** A TCP port; `allowZero` admits 0 (an ephemeral port, useful for the metrics server in tests). */
export function parsePort(option: string, value: string, allowZero: boolean): number {
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed)) throw new OptionValueError(option, value, 'not a port number');
  const port = Number(trimmed);
  const min = allowZero ? 0 : 1;
  if (port < min || port > 65535) throw new OptionValueError(option, value, `must be ${min}..65535`);
  return port;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration such as `30s`, `5m`, `1h`, `250ms`, or a bare number of seconds; returns milliseconds.
 * Zero is allowed and means "disabled" where the caller says so.
 */
export function parseDuration(option: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (match === null || match[1] === undefined) {
    throw new OptionValueError(option, value, 'expected a duration such as 30s, 5m, 1h or 250ms');
  }
  const ms = Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(ms) || ms > 2_147_483_647) throw new OptionValueError(option, value, 'too long');
  return Math.round(ms);
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

export function parseBoolean(option: string, value: string): boolean {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new OptionValueError(option, value, 'expected true or false');
}

export function parseLogLevel(option: string, value: string): OperatorLogLevel {
  const level = LOG_LEVELS.find((candidate) => candidate === value.trim().toLowerCase());
  if (level === undefined)
    throw new OptionValueError(option, value, `expected one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

// A DNS-1123 label: what Kubernetes accepts as a namespace name.
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A comma- or space-separated list of namespace names; duplicates are dropped. */
export function parseNamespaces(option: string, value: string): string[] {
  const names = value
    .split(/[\s,]+/)
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    if (name.length > 63 || !NAMESPACE_NAME.test(name)) {
      throw new OptionValueError(option, value, `${JSON.stringify(name)} is not a namespace name`);
    }
  }
  return [...new Set(names)];
}
