import type { ConfigIssue } from '@l7mp/config';

/**
 * Base of every error the proxy reports. `status` is the HTTP-like code the REST API and the
 * listeners that can answer (HTTP, JSONSocket) use; `path` names the object concerned, e.g.
 * `['listeners', 'udp-in', 'spec', 'port']`.
 */
export class L7mpError extends Error {
  readonly status: number;
  readonly path: readonly (string | number)[];
  readonly content: unknown;

  constructor(
    message: string,
    options: {
      status?: number;
      path?: readonly (string | number)[];
      content?: unknown;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.status = options.status ?? 500;
    this.path = options.path ?? [];
    this.content = options.content ?? message;
  }
}

/** A named object (or session, or endpoint) does not exist. */
export class NotFoundError extends L7mpError {
  constructor(message: string, options: { path?: readonly (string | number)[] } = {}) {
    super(message, { ...options, status: 404 });
  }
}

/** The request is wrong in a way that is not a schema problem (bad position, wrong cluster type...). */
export class BadRequestError extends L7mpError {
  constructor(message: string, options: { path?: readonly (string | number)[] } = {}) {
    super(message, { ...options, status: 400 });
  }
}

/** An object with the same name exists; the message ends in the anchor's `already defined`. */
export class AlreadyDefinedError extends L7mpError {
  constructor(kindLabel: string, name: string, options: { path?: readonly (string | number)[] } = {}) {
    super(`${kindLabel} "${name}" already defined`, { ...options, status: 400 });
  }
}

/** Input failed schema validation; `issues` lists every problem with its path. */
export class ValidationError extends L7mpError {
  readonly issues: readonly ConfigIssue[];

  constructor(message: string, issues: readonly ConfigIssue[], options: { status?: number } = {}) {
    super(message, { status: options.status ?? 400, content: issues });
    this.issues = issues;
  }
}

/** A stage of a session could not be connected (endpoint refused, timed out, no endpoint...). */
export class ConnectError extends L7mpError {
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, {
      status: options.status ?? 503,
      ...(options.cause !== undefined ? { cause: options.cause } : {}),
    });
  }
}

/** A connect attempt took longer than the route's `retry.timeout`. */
export class ConnectTimeoutError extends ConnectError {
  constructor(what: string, timeoutMs: number) {
    super(`${what}: connect timed out after ${timeoutMs} ms`, { status: 504 });
  }
}
