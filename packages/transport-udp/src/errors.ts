import { BadRequestError, L7mpError } from '@l7mp/core';

/** The anchor's wording, kept so that operators and old tests recognise it. */
export const SINGLETON_WITHOUT_REMOTE =
  'Singleton mode requested but either connect.address or connect.port is not defined (or neither): no remote to connect to';

/** A UDP listener spec that cannot work (e.g. singleton mode without a remote). */
export class UdpListenerConfigError extends BadRequestError {
  constructor(listener: string, reason: string, field: readonly string[]) {
    super(`UDP listener "${listener}": ${reason}`, { path: ['listeners', listener, 'spec', ...field] });
  }
}

/** A UDP listener could not open its socket: the bind or (singleton) the connect failed. */
export class UdpListenerStartError extends L7mpError {
  /** The system error code (EADDRINUSE, EADDRNOTAVAIL, ENOTFOUND...), when there is one. */
  readonly code: string | undefined;

  constructor(listener: string, what: string, cause: unknown) {
    const reason = messageOf(cause);
    super(`UDPListener.run: "${listener}": ${what}: ${reason}`, {
      status: 500,
      path: ['listeners', listener],
      cause,
    });
    this.code = errorCode(cause);
  }
}

/** A singleton listener was asked to reconnect after it was closed. */
export class UdpListenerClosedError extends L7mpError {
  constructor(listener: string) {
    super(`UDP listener "${listener}": cannot reconnect, the listener is closed`, {
      status: 503,
      path: ['listeners', listener],
    });
  }
}

export function errorCode(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object' || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The message of anything thrown. Duck-typed because errors from Node internals may come from
 * another realm (a jest VM context, say), where `instanceof Error` is false.
 */
export function messageOf(error: unknown): string {
  if (error !== null && typeof error === 'object' && 'message' in error) {
    const message = (error as { message: unknown }).message;
    if (typeof message === 'string') return message;
  }
  return String(error);
}

/** Anything thrown, as an Error (kept as is when it looks like one, whatever its realm). */
export function toError(error: unknown): Error {
  if (
    error !== null &&
    typeof error === 'object' &&
    typeof (error as { message?: unknown }).message === 'string'
  ) {
    return error as Error;
  }
  return new Error(String(error));
}
