import type { IncomingMessage } from 'node:http';

/** The `HTTP.url` part of session metadata (anchor §1.8); missing parts are `''`. */
export interface HttpUrlMetadata {
  url: string;
  href: string;
  protocol: string;
  host: string;
  port: string;
  path: string;
  query: string;
}

export interface HttpMetadata {
  version: string;
  method: string;
  url: HttpUrlMetadata;
  headers: IncomingMessage['headers'];
}

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Splits a request target the way the anchor reported it: `path` keeps the query string and
 * `query` is the raw query. Protocol, host and port are only known for an absolute-form target
 * (a proxy request); `host` is the host name alone, the port is in `port`.
 */
export function parseRequestTarget(target: string): HttpUrlMetadata {
  if (ABSOLUTE_URL.test(target)) {
    try {
      const parsed = new URL(target);
      return {
        url: target,
        href: parsed.href,
        protocol: parsed.protocol,
        host: parsed.hostname,
        port: parsed.port,
        path: parsed.pathname + parsed.search,
        query: parsed.search.slice(1),
      };
    } catch {
      // Not a parsable absolute URL after all: report it as an opaque path below.
    }
  }
  const queryStart = target.indexOf('?');
  return {
    url: target,
    href: target,
    protocol: '',
    host: '',
    port: '',
    path: target,
    query: queryStart >= 0 ? target.slice(queryStart + 1) : '',
  };
}

/** The pathname of a request target (no query), for matching a listener's `path`. */
export function requestPathname(target: string): string {
  const parsed = parseRequestTarget(target);
  const queryStart = parsed.path.indexOf('?');
  return queryStart >= 0 ? parsed.path.slice(0, queryStart) : parsed.path;
}

export function httpMetadata(request: IncomingMessage): HttpMetadata {
  return {
    version: request.httpVersion,
    method: request.method ?? 'GET',
    url: parseRequestTarget(request.url ?? '/'),
    headers: request.headers,
  };
}

/** `IP` and `TCP` metadata plus the address parts of the session name. */
export function connectionEndpoints(request: IncomingMessage): {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
} {
  const socket = request.socket;
  return {
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? '',
    localPort: socket.localPort ?? 0,
  };
}
