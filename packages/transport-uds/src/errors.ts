import { L7mpError } from '@l7mp/core';

/** A Unix domain socket listener could not bind its socket file. */
export class UdsListenError extends L7mpError {
  constructor(message: string, cause?: unknown) {
    super(message, { status: 500, ...(cause !== undefined ? { cause } : {}) });
  }
}
