import { L7mpError } from '@l7mp/core';

/** A TCP listener could not start listening (address in use, permission, bad address...). */
export class TcpListenError extends L7mpError {
  constructor(message: string, cause: unknown) {
    super(message, { status: 500, cause });
  }
}
