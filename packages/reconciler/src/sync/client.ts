import type { ConfigDocument } from '@l7mp/config';

/** A REST call to a proxy that failed: unreachable, timed out, or answered with an error status. */
export class ProxyRequestError extends Error {
  readonly address: string;
  /** HTTP status of the answer; undefined when there was none. */
  readonly status: number | undefined;
  /** The proxy's error `content` (or the response text). */
  readonly content: string;

  constructor(address: string, what: string, reason: string, status?: number, content = '') {
    super(`proxy ${address}: ${what} failed: ${reason}`);
    this.name = 'ProxyRequestError';
    this.address = address;
    this.status = status;
    this.content = content;
  }
}

/** What PUT /api/v1/config answers. */
export interface ReplaceResult {
  status: number;
  changed: boolean;
  added?: Record<string, string[]>;
  updated?: Record<string, string[]>;
  removed?: Record<string, string[]>;
  unchanged?: number;
}

export interface ProxyClientOptions {
  /** Base URL of the proxy's REST API, e.g. `http://10.0.0.5:1234`. */
  readonly address: string;
  /** The bearer token to send, looked up on every call (it may be rotated). */
  readonly token?: () => string | undefined;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** The two REST calls the reconciler makes to a proxy, on fetch. */
export class ProxyClient {
  readonly address: string;
  /** REST calls made so far (for metrics and benchmarks). */
  calls = 0;
  private readonly token: (() => string | undefined) | undefined;
  private readonly timeoutMs: number;

  constructor(options: ProxyClientOptions) {
    this.address = options.address.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** GET /api/v1/config: the proxy's whole config in the form PUT accepts. */
  async getConfig(): Promise<ConfigDocument> {
    const body = await this.request('GET', undefined);
    if (body === null || typeof body !== 'object' || !Array.isArray((body as ConfigDocument).listeners)) {
      throw new ProxyRequestError(this.address, 'GET /api/v1/config', 'the answer is not a config document');
    }
    const doc = body as ConfigDocument & { endpoints?: unknown; sessions?: unknown };
    return {
      listeners: doc.listeners,
      clusters: doc.clusters ?? [],
      rulelists: doc.rulelists ?? [],
      rules: doc.rules ?? [],
      routes: doc.routes ?? [],
    };
  }

  /** PUT /api/v1/config: makes the proxy run exactly this document. */
  async putConfig(doc: ConfigDocument): Promise<ReplaceResult> {
    const body = await this.request('PUT', doc);
    return body as ReplaceResult;
  }

  private async request(method: 'GET' | 'PUT', body: unknown): Promise<unknown> {
    const what = `${method} /api/v1/config`;
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.token?.();
    if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    this.calls += 1;
    let response: Response;
    try {
      response = await fetch(`${this.address}/api/v1/config`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs} ms`
          : `unreachable (${cause ?? (error instanceof Error ? error.message : String(error))})`;
      throw new ProxyRequestError(this.address, what, reason);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const content =
        json !== null &&
        typeof json === 'object' &&
        typeof (json as { content?: unknown }).content === 'string'
          ? (json as { content: string }).content
          : text;
      throw new ProxyRequestError(
        this.address,
        what,
        `HTTP ${response.status}: ${content}`,
        response.status,
        content,
      );
    }
    if (json === undefined)
      throw new ProxyRequestError(this.address, what, 'the answer is not JSON', response.status, text);
    return json;
  }
}
