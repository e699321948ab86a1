export interface BackoffOptions {
  /** First delay (default 200 ms). */
  readonly initialMs?: number;
  /** Upper bound (default 30 s). */
  readonly maxMs?: number;
}

/** Exponential backoff: initial × 2^(failures-1), capped, with ±20 % jitter so proxies do not retry in lockstep. */
export function backoffDelay(
  failures: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 200;
  const max = options.maxMs ?? 30_000;
  const base = Math.min(max, initial * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}
