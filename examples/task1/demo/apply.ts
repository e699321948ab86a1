// A client-side `kubectl apply` for the mesh demo, over the API server's HTTP API: GET, then POST
// (with the last-applied annotation kubectl writes) or a merge patch computed against the last
// applied configuration, so a later `kubectl apply` by the user continues from the same state.
import { DemoError } from './processes';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Irregular plurals are not needed: the seed's kinds are VirtualService, Target, Rule and core kinds. */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  return lower.endsWith('s') ? `${lower}es` : `${lower}s`;
}

/** The REST path of a manifest's collection and of the object itself. */
export function pathsOf(manifest: Json, defaultNamespace = 'default'): { collection: string; item: string } {
  const apiVersion = typeof manifest.apiVersion === 'string' ? manifest.apiVersion : '';
  const kind = typeof manifest.kind === 'string' ? manifest.kind : '';
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  if (apiVersion === '' || kind === '' || name === '') {
    throw new DemoError('a manifest needs apiVersion, kind and metadata.name');
  }
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : defaultNamespace;
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const collection = `${base}/namespaces/${encodeURIComponent(namespace)}/${pluralOf(kind)}`;
  return { collection, item: `${collection}/${encodeURIComponent(name)}` };
}

/** A JSON merge patch turning `from` into `to` (keys only in `from` become null). */
export function mergeDiff(from: unknown, to: unknown): unknown {
  if (!isRecord(from) || !isRecord(to)) return to;
  const patch: Json = {};
  for (const key of Object.keys(from)) if (!(key in to)) patch[key] = null;
  for (const [key, value] of Object.entries(to)) {
    if (JSON.stringify(from[key]) !== JSON.stringify(value)) patch[key] = mergeDiff(from[key], value);
  }
  return patch;
}

async function call(url: string, init: RequestInit): Promise<{ status: number; body: Json }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  } catch (error) {
    throw new DemoError(`${init.method ?? 'GET'} ${url} failed: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text();
  let body: Json = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed)) body = parsed;
  } catch {
    body = { message: text };
  }
  return { status: response.status, body };
}

/** Applies one manifest; returns what kubectl prints (`created`, `configured`, `unchanged`). */
export async function applyManifest(apiUrl: string, manifest: Json): Promise<'created' | 'configured' | 'unchanged'> {
  const { collection, item } = pathsOf(manifest);
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  const { [LAST_APPLIED]: _previous, ...annotations } = isRecord(metadata.annotations) ? metadata.annotations : {};
  // What kubectl records: the manifest with its namespace filled in and an annotations object.
  const applied: Json = {
    ...manifest,
    metadata: { ...metadata, annotations, namespace: metadata.namespace ?? 'default' },
  };
  const created: Json = {
    ...applied,
    metadata: { ...metadata, annotations: { ...annotations, [LAST_APPLIED]: JSON.stringify(applied) } },
  };
  const current = await call(`${apiUrl}${item}`, { method: 'GET' });
  const failed = (what: string, r: { status: number; body: Json }) =>
    new DemoError(`${what} ${item}: ${r.status} ${String(r.body.message ?? '')}`);
  if (current.status === 404) {
    const posted = await call(`${apiUrl}${collection}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(created),
    });
    if (posted.status !== 201) throw failed('create', posted);
    return 'created';
  }
  if (current.status !== 200) throw failed('get', current);
  const currentMeta = isRecord(current.body.metadata) ? current.body.metadata : {};
  const currentAnnotations = isRecord(currentMeta.annotations) ? currentMeta.annotations : {};
  const lastText = currentAnnotations[LAST_APPLIED];
  let last: unknown = {};
  try {
    if (typeof lastText === 'string') last = JSON.parse(lastText);
  } catch {
    // A broken annotation: patch from nothing, as kubectl does without one.
  }
  if (JSON.stringify(last) === JSON.stringify(applied)) return 'unchanged';
  // Three-way as kubectl: what the last apply set and this one does not is removed.
  const diff = mergeDiff(last, applied);
  const patch: Json = isRecord(diff) ? diff : {};
  const patchMeta = isRecord(patch.metadata) ? patch.metadata : {};
  const patchAnnotations = isRecord(patchMeta.annotations) ? patchMeta.annotations : {};
  patch.metadata = {
    ...patchMeta,
    annotations: { ...patchAnnotations, [LAST_APPLIED]: JSON.stringify(applied) },
  };
  const patched = await call(`${apiUrl}${item}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: JSON.stringify(patch),
  });
  if (patched.status !== 200) throw failed('patch', patched);
  return 'configured';
}
