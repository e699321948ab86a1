import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
}

export interface RecordingProxy {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of an API server that records every request line on the wire (path and
 * query, which tells a watch from a list) and streams responses through, watches included.
 */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/' });
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        // A watch sends its headers before any event; the client waits for them.
        res.flushHeaders();
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => res.destroy());
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.destroy();
    });
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface ResourceRequest {
  group: string;
  /** `plural` or `plural/subresource`, as RBAC names it. */
  resource: string;
  verb: string;
  /** Undefined for a cluster-wide request. */
  namespace?: string;
}

const DISCOVERY = /^\/(api|apis|version|openapi)(\/[^/]+){0,2}$/;

/** What RBAC checks for one request; undefined for discovery (granted to every user). */
export function toResourceRequest({ method, url }: RecordedRequest): ResourceRequest | undefined {
  const parsed = new URL(url, 'http://x');
  const path = parsed.pathname.replace(/\/+$/, '');
  const match =
    /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
      path,
    );
  if (match === null) {
    if (DISCOVERY.test(path)) return undefined;
    throw new Error(`not a Kubernetes API path: ${method} ${url}`);
  }
  const [, group = '', namespace, plural = '', name, subresource] = match;
  if (path.startsWith('/apis/') && match[1] === undefined) throw new Error(`no group in ${url}`);
  const resource = subresource !== undefined ? `${plural}/${subresource}` : plural;
  const watch = parsed.searchParams.get('watch');
  const verb = (() => {
    switch (method) {
      case 'GET':
        if (name !== undefined) return 'get';
        return watch === 'true' || watch === '1' ? 'watch' : 'list';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return name !== undefined ? 'delete' : 'deletecollection';
      default:
        throw new Error(`unexpected method ${method} ${url}`);
    }
  })();
  return { group, resource, verb, ...(namespace !== undefined ? { namespace } : {}) };
}
