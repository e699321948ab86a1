import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { DevApiServer, parseLabelSelector, labelsMatch } from '../src';

let server: DevApiServer;
let url: string;
beforeEach(async () => {
  server = new DevApiServer();
  ({ url } = await server.start());
});
afterEach(async () => {
  await server.stop();
});

const call = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
  const res = await fetch(`${url}${path}`, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': contentType } } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

const pod = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: {},
  status: { phase: 'Pending' },
});

/** Reads watch lines until `count` events arrived. */
async function watchEvents(
  path: string,
  count: number,
): Promise<{ type: string; object: Record<string, unknown> }[]> {
  const controller = new AbortController();
  const res = await fetch(`${url}${path}`, { signal: controller.signal });
  const reader = res.body?.getReader();
  if (reader === undefined) throw new Error('no body');
  const events: { type: string; object: Record<string, unknown> }[] = [];
  let buffer = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += Buffer.from(value).toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
    }
  }
  controller.abort();
  return events;
}

describe('DevApiServer', () => {
  it('serves discovery for core, l7mp.io and coordination', async () => {
    expect((await call('GET', '/api')).json.versions).toEqual(['v1']);
    const groups = (await call('GET', '/apis')).json.groups as { name: string }[];
    expect(groups.map((g) => g.name)).toEqual(
      expect.arrayContaining(['l7mp.io', 'coordination.k8s.io', 'apiextensions.k8s.io']),
    );
    const l7mp = (await call('GET', '/apis/l7mp.io/v1')).json.resources as {
      name: string;
      shortNames?: string[];
    }[];
    expect(l7mp.find((r) => r.name === 'virtualservices')?.shortNames).toEqual(['vsvc']);
    expect((await call('GET', '/openapi/v3')).status).toBe(404);
  });

  it('creates, conflicts, updates with generation, patches and deletes', async () => {
    const created = await call('POST', '/api/v1/namespaces/default/pods', pod('a'));
    expect(created.status).toBe(201);
    const meta = created.json.metadata as { uid: string; resourceVersion: string; generation: number };
    expect(meta.generation).toBe(1);
    expect((await call('POST', '/api/v1/namespaces/default/pods', pod('a'))).json.reason).toBe(
      'AlreadyExists',
    );
    const stale = await call('PUT', '/api/v1/namespaces/default/pods/a', {
      ...pod('a'),
      metadata: { name: 'a', resourceVersion: '0' },
    });
    expect(stale.status).toBe(409);
    const updated = await call('PUT', '/api/v1/namespaces/default/pods/a', {
      ...pod('a'),
      spec: { nodeName: 'n' },
      status: { phase: 'Running' },
    });
    expect((updated.json.metadata as { generation: number }).generation).toBe(2);
    // The main resource ignores status; the status subresource changes only status.
    expect((updated.json.status as { phase: string }).phase).toBe('Pending');
    const st = await call(
      'PATCH',
      '/api/v1/namespaces/default/pods/a/status',
      { status: { phase: 'Running' }, spec: { nodeName: 'x' } },
      'application/merge-patch+json',
    );
    expect(st.json.status).toEqual({ phase: 'Running' });
    expect((st.json.spec as { nodeName: string }).nodeName).toBe('n');
    expect(
      (await call('PATCH', '/api/v1/namespaces/default/pods/a', {}, 'application/json-patch+json')).status,
    ).toBe(415);
    expect((await call('DELETE', '/api/v1/namespaces/default/pods/a')).status).toBe(200);
    expect((await call('GET', '/api/v1/namespaces/default/pods/a')).json).toMatchObject({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
    });
  });

  it('rejects an invalid l7mp CR with 422', async () => {
    const bad = await call('POST', '/apis/l7mp.io/v1/namespaces/default/targets', {
      apiVersion: 'l7mp.io/v1',
      kind: 'Target',
      metadata: { name: 'x' },
      spec: { selector: {}, cluster: { spec: { Bogus: {} } } },
    });
    expect(bad.status).toBe(422);
    expect(bad.json.reason).toBe('Invalid');
  });

  it('lists with label and field selectors', async () => {
    server.create('v1', 'pods', pod('a', { app: 'x' }));
    server.create('v1', 'pods', pod('b', { app: 'y' }));
    const list = async (q: string) =>
      (
        (await call('GET', `/api/v1/namespaces/default/pods?${q}`)).json.items as {
          metadata: { name: string };
        }[]
      ).map((i) => i.metadata.name);
    expect(await list('labelSelector=app%3Dx')).toEqual(['a']);
    expect(await list('labelSelector=app%20in%20(x,y)')).toEqual(['a', 'b']);
    expect(await list('labelSelector=app!%3Dx')).toEqual(['b']);
    expect(await list('fieldSelector=metadata.name%3Db')).toEqual(['b']);
    expect((await call('GET', '/api/v1/namespaces/default/pods?fieldSelector=spec.x%3D1')).status).toBe(400);
    expect(labelsMatch(parseLabelSelector('!app'), {})).toBe(true);
  });

  it('watches from a resourceVersion and answers 410 after compaction', async () => {
    const a = server.create('v1', 'pods', pod('a')) as { metadata: { resourceVersion: string } };
    server.create('v1', 'pods', pod('b'));
    const events = await watchEvents(
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${a.metadata.resourceVersion}`,
      1,
    );
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'b' } } });
    server.compact();
    const expired = await watchEvents(
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${a.metadata.resourceVersion}`,
      1,
    );
    expect(expired[0]).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
  });
});
