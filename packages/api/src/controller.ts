import {
  BaseConduit,
  type ClusterTransport,
  type ConnectRequest,
  type Logger,
  type Proxy,
  type SessionMetadata,
  type TransportPlugin,
} from '@l7mp/core';
import { handleApiRequest, type ApiOptions, type ApiResponse } from './handle-request';

/** Upper bound of a REST request body; larger bodies get 413 instead of exhausting memory. */
export const MAX_API_BODY_BYTES = 16 * 1024 * 1024;

interface HttpMetadata {
  method?: unknown;
  url?: { path?: unknown };
  headers?: Record<string, string | string[] | undefined>;
}

/**
 * One REST call: collects the request body until the client ends it, then answers with a
 * response head, the JSON body and an end.
 */
class ControllerConduit extends BaseConduit {
  readonly kind = 'byte-stream' as const;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private answered = false;

  constructor(
    private readonly serve: (body: Buffer) => Promise<ApiResponse>,
    private readonly logger: Logger,
  ) {
    super();
  }

  protected send(chunk: Buffer): boolean {
    if (this.answered) return true;
    this.size += chunk.length;
    if (this.size > MAX_API_BODY_BYTES) {
      this.answer(
        Promise.resolve({
          status: 413,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            status: 413,
            message: 'Payload Too Large',
            content: `Request body exceeds ${MAX_API_BODY_BYTES} bytes`,
          }),
        }),
      );
      return true;
    }
    this.chunks.push(chunk);
    return true;
  }

  protected sendEnd(): void {
    if (!this.answered) this.answer(this.serve(Buffer.concat(this.chunks, this.size)));
  }

  protected release(): void {
    this.chunks.length = 0;
  }

  private answer(response: Promise<ApiResponse>): void {
    this.answered = true;
    response.then(
      (res) => {
        this.deliverHead({ status: res.status, headers: res.headers });
        this.deliverData(Buffer.from(res.body, 'utf8'));
        this.deliverEnd();
        this.deliverClose();
      },
      (error: unknown) => {
        this.logger.error({ err: error }, 'REST API handler failed');
        this.deliverClose(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }
}

function requestLine(
  metadata: SessionMetadata,
): { method: string; url: string; headers: HttpMetadata['headers'] } | undefined {
  const http = metadata.HTTP as HttpMetadata | undefined;
  if (http === undefined || typeof http.method !== 'string' || typeof http.url?.path !== 'string')
    return undefined;
  return { method: http.method, url: http.url.path, headers: http.headers ?? {} };
}

/**
 * The `L7mpController` cluster: the REST API as a cluster that an HTTP listener routes to
 * (anchor §2.6). `proxy` is a getter because the plug-in is registered before the proxy exists.
 */
export function l7mpControllerPlugin(proxy: () => Proxy, options: ApiOptions = {}): TransportPlugin {
  return {
    name: 'l7mp-controller',
    clusters: [
      {
        protocol: 'L7mpController',
        create: (context): ClusterTransport => ({
          kind: 'byte-stream',
          virtual: true,
          retriable: false,
          connect: async (request: ConnectRequest) => {
            const line = requestLine(request.metadata);
            return new ControllerConduit(async (body) => {
              if (line === undefined) {
                return {
                  status: 500,
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({
                    status: 500,
                    message: 'Internal Server Error',
                    content:
                      'The L7mpController cluster needs HTTP request metadata: route an HTTP listener to it',
                  }),
                };
              }
              return handleApiRequest(
                proxy(),
                { method: line.method, url: line.url, headers: line.headers ?? {}, body },
                options,
              );
            }, context.logger);
          },
        }),
      },
    ],
  };
}
