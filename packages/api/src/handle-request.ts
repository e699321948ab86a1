import { timingSafeEqual } from 'node:crypto';
import { AlreadyDefinedError, L7mpError, NotFoundError, ValidationError, type Proxy } from '@l7mp/core';
import { formatIssue, type ConfigIssue } from '@l7mp/config';
import { ApiError, reasonPhrase } from './api-error';
import { decodeBody } from './request-body';
import { matchRoute, type ApiRequest } from './routes';
import { openApiDocument } from './openapi';

export const API_PREFIX = '/api/v1';

export interface RawApiRequest {
  method: string;
  /** The request target: path plus query string, e.g. `/api/v1/listeners?recursive=true`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ApiOptions {
  /** When set, every call except health checks and the OpenAPI document needs `Authorization: Bearer <token>`. */
  token?: () => string | undefined;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const FORMATS = new Set(['plain', 'terse', 'space', 'lines', 'diffy']);

/** Serves one REST request against a proxy. Never throws: every failure becomes an error body. */
export async function handleApiRequest(
  proxy: Proxy,
  raw: RawApiRequest,
  options: ApiOptions = {},
): Promise<ApiResponse> {
  const method = raw.method.toUpperCase();
  const queryStart = raw.url.indexOf('?');
  const path = queryStart < 0 ? raw.url : raw.url.slice(0, queryStart);
  const query = new URLSearchParams(queryStart < 0 ? '' : raw.url.slice(queryStart + 1));
  const strict = proxy.getAdmin().strict === true;
  try {
    if (method === 'GET' && (path === '/healthz' || path === `${API_PREFIX}/healthz`)) {
      return respond(200, { status: 'ok' });
    }
    if (method === 'GET' && (path === '/readyz' || path === `${API_PREFIX}/readyz`)) {
      return proxy.isClosed ? respond(503, { status: 'closing' }) : respond(200, { status: 'ready' });
    }
    if (method === 'GET' && path === `${API_PREFIX}/openapi.json`) return respond(200, openApiDocument());
    authorize(raw.headers, options);
    if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) {
      throw new ApiError(404, `Unknown API operation: ${method} ${path}`);
    }
    const segments = path.slice(API_PREFIX.length).split('/').slice(1);
    const match = matchRoute(method, segments);
    if (match.kind === 'not-found') throw new ApiError(404, `Unknown API operation: ${method} ${path}`);
    if (match.kind === 'method-not-allowed') {
      const response = errorResponse(
        new ApiError(405, `Method ${method} is not allowed on ${path}; allowed: ${match.allowed.join(', ')}`),
      );
      response.headers.allow = match.allowed.join(', ');
      return response;
    }
    const format = query.get('format') ?? 'plain';
    if (strict && !FORMATS.has(format)) {
      throw new ApiError(
        422,
        `query parameter format: expected one of ${[...FORMATS].join(', ')}, got ${JSON.stringify(format)}`,
      );
    }
    const headerValue = raw.headers['content-type'];
    const contentType = Array.isArray(headerValue) ? headerValue[0] : headerValue;
    const request: ApiRequest = {
      method,
      params: match.params,
      query,
      body: decodeBody(method, contentType, raw.body),
      strict,
    };
    try {
      const result = await match.route.handler(proxy, request);
      return respond(200, result, format);
    } catch (error) {
      return errorResponse(error, match.route.bodyKey, strict);
    }
  } catch (error) {
    return errorResponse(error, undefined, strict);
  }
}

function authorize(headers: RawApiRequest['headers'], options: ApiOptions): void {
  const token = options.token?.();
  if (token === undefined || token === '') return;
  const header = headers.authorization;
  const value = Array.isArray(header) ? header[0] : header;
  const presented = value?.startsWith('Bearer ') ? value.slice('Bearer '.length).trim() : undefined;
  if (presented === undefined)
    throw new ApiError(401, 'Missing bearer token: send "Authorization: Bearer <token>"');
  const expected = Buffer.from(token);
  const given = Buffer.from(presented);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApiError(401, 'Invalid bearer token');
  }
}

function respond(status: number, payload: unknown, format = 'plain'): ApiResponse {
  const body = format === 'terse' ? JSON.stringify(payload) : JSON.stringify(payload, null, 2);
  return { status, headers: { ...JSON_HEADERS }, body: body ?? 'null' };
}

function errorResponse(error: unknown, bodyKey?: string, strict = false): ApiResponse {
  let status: number;
  let content: unknown;
  let issues: ConfigIssue[] | undefined;
  if (error instanceof ApiError) {
    status = error.status;
    content = error.content;
  } else if (error instanceof ValidationError) {
    // Paths are relative to the object; prefix them with the body's wrapper key.
    issues = error.issues.map((issue) => ({
      path: bodyKey === undefined ? issue.path : [bodyKey, ...issue.path],
      message: issue.message,
    }));
    status = strict ? 422 : 400;
    content = `${headline(error.message)}${issues.length > 0 ? `: ${issues.map(formatIssue).join('; ')}` : ''}`;
  } else if (error instanceof NotFoundError) {
    status = 404;
    content = error.message;
  } else if (error instanceof AlreadyDefinedError) {
    status = 400;
    content = error.message;
  } else if (error instanceof L7mpError) {
    status = error.status >= 400 && error.status < 600 ? error.status : 500;
    content = error.message;
  } else {
    status = 500;
    content = error instanceof Error ? error.message : String(error);
  }
  const body: Record<string, unknown> = { status, message: reasonPhrase(status), content };
  if (issues !== undefined) {
    body.issues = issues.map((issue) => ({
      path: formatIssue({ path: issue.path, message: '' }).replace(/: $/, ''),
      message: issue.message,
    }));
  }
  const response = respond(status, body);
  if (status === 401) response.headers['www-authenticate'] = 'Bearer';
  return response;
}

/** The part of a ValidationError message before its list of problems. */
function headline(message: string): string {
  const cut = message.indexOf(': ');
  return cut < 0 ? message : message.slice(0, cut);
}
