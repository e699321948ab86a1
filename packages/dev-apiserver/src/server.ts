import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  builtinResources,
  groupVersionOf,
  l7mpCrds,
  resourceId,
  resourcesOfCrd,
  type ResourceType,
} from './resources';
import {
  fieldsMatch,
  labelsMatch,
  parseFieldSelector,
  parseLabelSelector,
  SelectorSyntaxError,
  type FieldRequirement,
  type LabelRequirement,
} from './selectors';
import { OPENAPI_V2_PROTOBUF_TYPE, openApiV2Json, openApiV2Protobuf } from './openapi';
import { buildTable, DEFAULT_COLUMNS, JsonPathError, wantsTable } from './table';

type Obj = Record<string, unknown> & { metadata: Meta };
interface Meta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A change, as in-process subscribers see it (see DevApiServer.subscribe). */
export interface ChangeEvent {
  readonly type: WatchEventType;
  /** `v1`, `l7mp.io/v1`, ... */
  readonly apiVersion: string;
  readonly plural: string;
  /** A copy: subscribers may keep or change it. */
  readonly object: Record<string, unknown>;
}

export type ChangeListener = (event: ChangeEvent) => void;

interface LoggedEvent {
  readonly rv: number;
  readonly typeId: string;
  readonly type: WatchEventType;
  readonly object: Obj;
}

interface Watcher {
  readonly typeId: string;
  readonly namespace: string | undefined;
  readonly labels: LabelRequirement[];
  readonly fields: FieldRequirement[];
  readonly res: ServerResponse;
}

/** An error answered as a Kubernetes Status object. */
export class ApiStatusError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: number, reason: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiStatusError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

export interface DevApiServerOptions {
  /** Install the l7mp.io/v1 CRDs at start (default true). */
  readonly installL7mpCrds?: boolean;
  /** Host to bind (default 127.0.0.1). Port is always chosen by the kernel. */
  readonly host?: string;
}

const clone = <T>(v: T): T => structuredClone(v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * An in-process Kubernetes API server for tests and local demos: discovery, CRUD, merge patch,
 * the status subresource, list/watch with resourceVersions, label/field selectors, 410 Expired
 * after compact(). Everything is kept in memory.
 */
export class DevApiServer {
  private server: Server | undefined;
  private readonly types = new Map<string, ResourceType>();
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly log: LoggedEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly listeners = new Set<ChangeListener>();
  private revision = 0;
  private compactedAt = 0;
  private url = '';
  /** Requests seen, for tests that count calls. */
  readonly requests: { method: string; path: string }[] = [];

  constructor(private readonly options: DevApiServerOptions = {}) {
    for (const t of builtinResources()) this.register(t);
    if (options.installL7mpCrds !== false) {
      for (const crd of l7mpCrds())
        this.createObject(
          this.typeOf('apiextensions.k8s.io', 'v1', 'customresourcedefinitions'),
          undefined,
          crd as Obj,
        );
    }
  }

  async start(): Promise<{ url: string }> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => this.sendError(res, error));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.url = `http://${host}:${address.port}`;
    return { url: this.url };
  }

  async stop(): Promise<void> {
    this.dropWatches();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Forgets the watch history: a watch from an older resourceVersion gets 410 Expired. */
  compact(): void {
    this.compactedAt = this.revision;
    this.log.length = 0;
  }

  /** Ends every open watch (abrupt: destroys the connection instead of ending the response). */
  dropWatches(options: { abrupt?: boolean } = {}): void {
    for (const w of this.watchers) {
      if (options.abrupt === true) w.res.destroy();
      else w.res.end();
    }
    this.watchers.clear();
  }

  /**
   * Calls `listener` after every change (synchronously, in order), e.g. for a local "kubelet"
   * that starts processes for new pods. A listener that throws does not stop the others or the
   * write. Returns the function that unsubscribes.
   */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Number of open watch connections. */
  watchCount(): number {
    return this.watchers.size;
  }

  // ---------------------------------------------------------------- direct access (tests)

  /** Creates an object as a client would (POST). */
  create(apiVersion: string, plural: string, body: Record<string, unknown>): Record<string, unknown> {
    const t = this.typeByApiVersion(apiVersion, plural);
    const ns = t.namespaced ? ((body.metadata as Meta | undefined)?.namespace ?? 'default') : undefined;
    return clone(this.createObject(t, ns, body as Obj));
  }

  get(
    apiVersion: string,
    plural: string,
    namespace: string | undefined,
    name: string,
  ): Record<string, unknown> | undefined {
    const t = this.typeByApiVersion(apiVersion, plural);
    const o = this.objects.get(resourceId(t))?.get(this.keyOf(t, namespace, name));
    return o === undefined ? undefined : clone(o);
  }

  list(apiVersion: string, plural: string, namespace?: string): Record<string, unknown>[] {
    const t = this.typeByApiVersion(apiVersion, plural);
    return [...(this.objects.get(resourceId(t))?.values() ?? [])]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .map(clone);
  }

  /** Applies a merge patch (to the status only when `subresource` is 'status'). */
  patch(
    apiVersion: string,
    plural: string,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: 'status',
  ): Record<string, unknown> {
    const t = this.typeByApiVersion(apiVersion, plural);
    return clone(this.patchObject(t, namespace, name, patch, subresource === 'status'));
  }

  /** Replaces an object (status included when `subresource` is 'status'). */
  update(
    apiVersion: string,
    plural: string,
    body: Record<string, unknown>,
    subresource?: 'status',
  ): Record<string, unknown> {
    const t = this.typeByApiVersion(apiVersion, plural);
    const meta = (body.metadata ?? {}) as Meta;
    return clone(
      this.updateObject(
        t,
        t.namespaced ? (meta.namespace ?? 'default') : undefined,
        meta.name ?? '',
        body as Obj,
        subresource === 'status',
      ),
    );
  }

  delete(apiVersion: string, plural: string, namespace: string | undefined, name: string): void {
    const t = this.typeByApiVersion(apiVersion, plural);
    this.deleteObject(t, namespace, name);
  }

  // ---------------------------------------------------------------- storage

  private register(t: ResourceType): void {
    this.types.set(resourceId(t), t);
    if (!this.objects.has(resourceId(t))) this.objects.set(resourceId(t), new Map());
  }

  private typeOf(group: string, version: string, plural: string): ResourceType {
    const t = this.types.get(`${group}/${version}/${plural}`);
    if (t === undefined) {
      throw new ApiStatusError(
        404,
        'NotFound',
        `the server could not find the requested resource (${plural}${group !== '' ? `.${group}` : ''})`,
      );
    }
    return t;
  }

  private typeByApiVersion(apiVersion: string, plural: string): ResourceType {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return this.typeOf(group ?? '', version ?? '', plural);
  }

  private keyOf(t: ResourceType, namespace: string | undefined, name: string): string {
    return t.namespaced ? `${namespace ?? 'default'}/${name}` : name;
  }

  private notFound(t: ResourceType, name: string): ApiStatusError {
    return new ApiStatusError(
      404,
      'NotFound',
      `${t.plural}${t.group !== '' ? `.${t.group}` : ''} "${name}" not found`,
      {
        name,
        group: t.group,
        kind: t.plural,
      },
    );
  }

  private emit(t: ResourceType, type: WatchEventType, object: Obj): void {
    const event: LoggedEvent = {
      rv: Number(object.metadata.resourceVersion),
      typeId: resourceId(t),
      type,
      object: clone(object),
    };
    this.log.push(event);
    for (const w of this.watchers) this.sendEvent(w, event);
    for (const listener of [...this.listeners]) {
      try {
        listener({ type, apiVersion: groupVersionOf(t), plural: t.plural, object: clone(object) });
      } catch {
        // A broken subscriber must not fail the write that triggered it.
      }
    }
  }

  private validate(t: ResourceType, body: Obj): void {
    const problems = t.validate?.(body) ?? [];
    if (problems.length > 0) {
      throw new ApiStatusError(
        422,
        'Invalid',
        `${t.kind}.${t.group} "${body.metadata.name ?? ''}" is invalid: ${problems.join('; ')}`,
        {
          name: body.metadata.name,
          group: t.group,
          kind: t.kind,
          causes: problems.map((message) => ({ reason: 'FieldValueInvalid', message })),
        },
      );
    }
  }

  private checkKind(t: ResourceType, body: Record<string, unknown>): void {
    if (body.kind !== undefined && body.kind !== t.kind) {
      throw new ApiStatusError(400, 'BadRequest', `the body is a ${String(body.kind)}, expected a ${t.kind}`);
    }
    if (body.apiVersion !== undefined && body.apiVersion !== groupVersionOf(t)) {
      throw new ApiStatusError(
        400,
        'BadRequest',
        `the body has apiVersion ${String(body.apiVersion)}, expected ${groupVersionOf(t)}`,
      );
    }
  }

  private createObject(t: ResourceType, namespace: string | undefined, input: Obj): Obj {
    if (!isObject(input)) throw new ApiStatusError(400, 'BadRequest', 'the body must be a JSON object');
    this.checkKind(t, input);
    const body = clone(input);
    const meta: Meta = isObject(body.metadata) ? (body.metadata as Meta) : {};
    if ((meta.name === undefined || meta.name === '') && meta.generateName !== undefined) {
      meta.name = `${meta.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    }
    if (typeof meta.name !== 'string' || meta.name === '') {
      throw new ApiStatusError(
        422,
        'Invalid',
        `${t.kind} is invalid: metadata.name: Required value: name or generateName is required`,
      );
    }
    if (t.namespaced) {
      if (meta.namespace !== undefined && namespace !== undefined && meta.namespace !== namespace) {
        throw new ApiStatusError(
          400,
          'BadRequest',
          `the namespace of the object (${meta.namespace}) does not match the namespace of the request (${namespace})`,
        );
      }
      meta.namespace = namespace ?? meta.namespace ?? 'default';
    } else delete meta.namespace;
    const store = this.objects.get(resourceId(t)) ?? new Map<string, Obj>();
    const key = this.keyOf(t, meta.namespace, meta.name);
    if (store.has(key)) {
      throw new ApiStatusError(
        409,
        'AlreadyExists',
        `${t.plural}${t.group !== '' ? `.${t.group}` : ''} "${meta.name}" already exists`,
        {
          name: meta.name,
          group: t.group,
          kind: t.plural,
        },
      );
    }
    body.apiVersion = groupVersionOf(t);
    body.kind = t.kind;
    body.metadata = meta;
    this.validate(t, body as Obj);
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    meta.generation = 1;
    meta.resourceVersion = String(++this.revision);
    const obj = body as Obj;
    store.set(key, obj);
    if (resourceId(t) === 'apiextensions.k8s.io/v1/customresourcedefinitions') {
      for (const crt of resourcesOfCrd(obj)) this.register(crt);
    }
    this.emit(t, 'ADDED', obj);
    return obj;
  }

  private stored(t: ResourceType, namespace: string | undefined, name: string): Obj {
    const o = this.objects.get(resourceId(t))?.get(this.keyOf(t, namespace, name));
    if (o === undefined) throw this.notFound(t, name);
    return o;
  }

  /** Stores `next` in place of `current` after the checks of an update; no event when nothing changed. */
  private commit(t: ResourceType, current: Obj, next: Obj, statusOnly: boolean): Obj {
    next.apiVersion = groupVersionOf(t);
    next.kind = t.kind;
    const meta = next.metadata;
    meta.name = current.metadata.name;
    if (current.metadata.namespace !== undefined) meta.namespace = current.metadata.namespace;
    else delete meta.namespace;
    meta.uid = current.metadata.uid;
    meta.creationTimestamp = current.metadata.creationTimestamp;
    if (statusOnly) {
      const status = next.status;
      const kept = clone(current);
      if (status === undefined) delete kept.status;
      else kept.status = status;
      next = kept;
    } else if (t.statusSubresource) {
      // Like a real API server: the main resource ignores status changes.
      if (current.status === undefined) delete next.status;
      else next.status = clone(current.status);
    }
    if (!statusOnly) this.validate(t, next);
    const { resourceVersion: _a, generation: _b, ...restCurrent } = current.metadata;
    const { resourceVersion: _c, generation: _d, ...restNext } = next.metadata;
    const specChanged = Object.keys({ ...current, ...next }).some(
      (k) => k !== 'metadata' && k !== 'status' && !sameJson(current[k], next[k]),
    );
    if (!specChanged && sameJson(restCurrent, restNext) && sameJson(current.status, next.status))
      return current;
    next.metadata.generation = (current.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    next.metadata.resourceVersion = String(++this.revision);
    this.objects.get(resourceId(t))?.set(this.keyOf(t, meta.namespace, meta.name ?? ''), next);
    if (resourceId(t) === 'apiextensions.k8s.io/v1/customresourcedefinitions') {
      for (const crt of resourcesOfCrd(next)) this.register(crt);
    }
    this.emit(t, 'MODIFIED', next);
    return next;
  }

  private updateObject(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    input: Obj,
    statusOnly: boolean,
  ): Obj {
    if (!isObject(input) || !isObject(input.metadata))
      throw new ApiStatusError(400, 'BadRequest', 'the body must be an object with metadata');
    this.checkKind(t, input);
    const current = this.stored(t, namespace, name);
    const body = clone(input);
    if (body.metadata.name !== undefined && body.metadata.name !== name) {
      throw new ApiStatusError(
        400,
        'BadRequest',
        `the name of the object (${body.metadata.name}) does not match the name in the URL (${name})`,
      );
    }
    const rv = body.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== current.metadata.resourceVersion) {
      throw new ApiStatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.plural}${t.group !== '' ? `.${t.group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        {
          name,
          group: t.group,
          kind: t.plural,
        },
      );
    }
    return this.commit(t, current, body, statusOnly);
  }

  private patchObject(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    statusOnly: boolean,
  ): Obj {
    if (!isObject(patch)) throw new ApiStatusError(400, 'BadRequest', 'a merge patch must be a JSON object');
    const current = this.stored(t, namespace, name);
    const rv = isObject(patch.metadata) ? patch.metadata.resourceVersion : undefined;
    if (typeof rv === 'string' && rv !== current.metadata.resourceVersion) {
      throw new ApiStatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${t.plural} "${name}": the object has been modified`,
      );
    }
    const next = mergePatch(current, patch) as Obj;
    if (!isObject(next.metadata)) next.metadata = {};
    return this.commit(t, current, next, statusOnly);
  }

  private deleteObject(t: ResourceType, namespace: string | undefined, name: string): Obj {
    const current = this.stored(t, namespace, name);
    this.objects.get(resourceId(t))?.delete(this.keyOf(t, namespace, name));
    const gone = clone(current);
    gone.metadata.resourceVersion = String(++this.revision);
    if (resourceId(t) === 'apiextensions.k8s.io/v1/customresourcedefinitions') {
      for (const crt of resourcesOfCrd(current)) {
        for (const o of [...(this.objects.get(resourceId(crt))?.values() ?? [])]) {
          this.deleteObject(crt, o.metadata.namespace, o.metadata.name ?? '');
        }
        this.types.delete(resourceId(crt));
      }
    }
    this.emit(t, 'DELETED', gone);
    return gone;
  }

  // ---------------------------------------------------------------- HTTP

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private sendError(res: ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const e =
      error instanceof ApiStatusError
        ? error
        : error instanceof SelectorSyntaxError || error instanceof JsonPathError
          ? new ApiStatusError(400, 'BadRequest', error.message)
          : new ApiStatusError(500, 'InternalError', error instanceof Error ? error.message : String(error));
    this.send(res, e.code, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: e.message,
      reason: e.reason,
      ...(e.details !== undefined ? { details: e.details } : {}),
      code: e.code,
    });
  }

  private async readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new ApiStatusError(400, 'BadRequest', `the body is not valid JSON: ${(error as Error).message}`);
    }
  }

  private discovery(path: string): unknown {
    if (path === '/version')
      return { major: '1', minor: '30', gitVersion: 'v1.30.0-l7mp-dev', platform: 'linux/amd64' };
    if (path === '/api')
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }],
      };
    const all = [...this.types.values()];
    if (path === '/apis') {
      const groups = new Map<string, string[]>();
      for (const t of all)
        if (t.group !== '') groups.set(t.group, [...new Set([...(groups.get(t.group) ?? []), t.version])]);
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...groups].map(([name, versions]) => ({
          name,
          versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
          preferredVersion: { groupVersion: `${name}/${versions[0] ?? 'v1'}`, version: versions[0] ?? 'v1' },
        })),
      };
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (m === null) return undefined;
    const group = m[2] ?? '';
    const version = m[1] ?? m[3] ?? '';
    const types = all.filter((t) => t.group === group && t.version === version);
    if (types.length === 0) return undefined;
    const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group === '' ? version : `${group}/${version}`,
      resources: types.flatMap((t) => [
        {
          name: t.plural,
          singularName: t.singular,
          namespaced: t.namespaced,
          kind: t.kind,
          verbs,
          ...(t.shortNames.length > 0 ? { shortNames: [...t.shortNames] } : {}),
          ...(t.group === 'l7mp.io' ? { categories: ['all', 'l7mp'] } : {}),
        },
        ...(t.statusSubresource
          ? [
              {
                name: `${t.plural}/status`,
                singularName: '',
                namespaced: t.namespaced,
                kind: t.kind,
                verbs: ['get', 'patch', 'update'],
              },
            ]
          : []),
      ]),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    this.requests.push({ method, path });
    if (method === 'GET') {
      if (path === '/openapi/v2') return this.sendOpenApi(req, res);
      const d = this.discovery(path);
      if (d !== undefined) return this.send(res, 200, d);
    }
    const m =
      /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/(status))?$/.exec(
        path,
      );
    if (m === null)
      throw new ApiStatusError(404, 'NotFound', `the server could not find the requested resource (${path})`);
    const group = m[2] ?? '';
    const version = m[1] ?? m[3] ?? '';
    const namespace = m[4] !== undefined ? decodeURIComponent(m[4]) : undefined;
    const plural = m[5] ?? '';
    const name = m[6] !== undefined ? decodeURIComponent(m[6]) : undefined;
    const t = this.typeOf(group, version, plural);
    if (t.namespaced && name !== undefined && namespace === undefined) {
      throw new ApiStatusError(
        404,
        'NotFound',
        `${t.plural} are namespaced: use /namespaces/<namespace>/${t.plural}/${name}`,
      );
    }
    const statusOnly = m[7] === 'status';
    if (statusOnly && !t.statusSubresource)
      throw new ApiStatusError(404, 'NotFound', `${t.plural} have no status subresource`);
    const ns = t.namespaced ? namespace : undefined;

    if (name === undefined) {
      if (method === 'GET') {
        if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1')
          return this.watch(t, ns, url, res);
        const list = this.listBody(t, ns, url);
        if (wantsTable(req.headers.accept)) return this.send(res, 200, this.table(t, list.items));
        return this.send(res, 200, list);
      }
      if (method === 'POST') {
        const body = (await this.readBody(req)) as Obj;
        return this.send(res, 201, this.createObject(t, ns, body));
      }
      throw new ApiStatusError(405, 'MethodNotAllowed', `${method} is not supported on a collection`);
    }
    switch (method) {
      case 'GET': {
        const object = this.stored(t, ns, name);
        if (wantsTable(req.headers.accept) && !statusOnly)
          return this.send(res, 200, this.table(t, [object]));
        return this.send(res, 200, object);
      }
      case 'PUT': {
        const body = (await this.readBody(req)) as Obj;
        return this.send(res, 200, this.updateObject(t, ns, name, body, statusOnly));
      }
      case 'PATCH': {
        const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
        if (type !== 'application/merge-patch+json' && type !== 'application/strategic-merge-patch+json') {
          throw new ApiStatusError(
            415,
            'UnsupportedMediaType',
            `the patch type ${JSON.stringify(type)} is not supported (use application/merge-patch+json)`,
          );
        }
        const body = await this.readBody(req);
        // A strategic merge patch is applied as a merge patch, minus its `$` directives (kubectl
        // apply sends `$setElementOrder/...` and `$patch` keys for built-in kinds).
        const patch = type === 'application/strategic-merge-patch+json' ? withoutDirectives(body) : body;
        return this.send(res, 200, this.patchObject(t, ns, name, patch, statusOnly));
      }
      case 'DELETE':
        return this.send(res, 200, this.deleteObject(t, ns, name));
      default:
        throw new ApiStatusError(405, 'MethodNotAllowed', `${method} is not supported`);
    }
  }

  private selection(t: ResourceType, ns: string | undefined, url: URL) {
    const labels = parseLabelSelector(url.searchParams.get('labelSelector') ?? '');
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector') ?? '');
    return { typeId: resourceId(t), namespace: ns, labels, fields };
  }

  private matches(
    w: Pick<Watcher, 'typeId' | 'namespace' | 'labels' | 'fields'>,
    typeId: string,
    o: Obj,
  ): boolean {
    return (
      w.typeId === typeId &&
      (w.namespace === undefined || o.metadata.namespace === w.namespace) &&
      labelsMatch(w.labels, o.metadata.labels ?? {}) &&
      fieldsMatch(w.fields, o.metadata)
    );
  }

  private sendOpenApi(req: IncomingMessage, res: ServerResponse): void {
    if (/protobuf/.test(req.headers.accept ?? '')) {
      const body = openApiV2Protobuf();
      res.writeHead(200, { 'content-type': OPENAPI_V2_PROTOBUF_TYPE, 'content-length': body.length });
      res.end(body);
      return;
    }
    this.send(res, 200, openApiV2Json());
  }

  private table(t: ResourceType, objects: Obj[]): unknown {
    return buildTable(t.kind, t.printerColumns ?? DEFAULT_COLUMNS, objects, String(this.revision));
  }

  private listBody(
    t: ResourceType,
    ns: string | undefined,
    url: URL,
  ): { items: Obj[] } & Record<string, unknown> {
    const sel = this.selection(t, ns, url);
    const items = [...(this.objects.get(resourceId(t))?.values() ?? [])].filter((o) =>
      this.matches(sel, sel.typeId, o),
    );
    return {
      kind: `${t.kind}List`,
      apiVersion: groupVersionOf(t),
      metadata: { resourceVersion: String(this.revision) },
      items,
    };
  }

  private sendEvent(w: Watcher, e: LoggedEvent): void {
    if (!this.matches(w, e.typeId, e.object)) return;
    w.res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
  }

  private watch(t: ResourceType, ns: string | undefined, url: URL, res: ServerResponse): void {
    const sel = this.selection(t, ns, url);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // The client's watch() resolves only once headers arrive; without events they would wait.
    res.flushHeaders();
    const rvParam = url.searchParams.get('resourceVersion');
    const from = rvParam === null || rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    if (from !== undefined && (!Number.isFinite(from) || from < this.compactedAt)) {
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${rvParam ?? ''} (${this.compactedAt})`,
        reason: 'Expired',
        code: 410,
      };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    const watcher: Watcher = { ...sel, res };
    if (from === undefined) {
      for (const o of this.objects.get(resourceId(t))?.values() ?? []) {
        if (this.matches(sel, sel.typeId, o)) res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
      }
    } else {
      for (const e of this.log) if (e.rv > from) this.sendEvent(watcher, e);
    }
    this.watchers.add(watcher);
    const forget = () => this.watchers.delete(watcher);
    res.on('close', forget);
    res.on('error', forget);
  }
}

/** Drops the `$`-prefixed directive keys of a strategic merge patch, at every depth. */
export function withoutDirectives(patch: unknown): unknown {
  if (Array.isArray(patch)) return patch.map(withoutDirectives);
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith('$')) out[key] = withoutDirectives(value);
  }
  return out;
}
