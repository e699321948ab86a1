import { afterEach, describe, expect, it } from '@jest/globals';
import { startApi, type ApiHarness } from './support';

const OK = { status: 200, message: 'OK' };

describe('REST API over HTTP', () => {
  let api: ApiHarness;
  afterEach(async () => {
    await api.proxy.close();
  });

  it('serves the controller listener of its own static config and answers JSON', async () => {
    api = await startApi();
    const res = await api.call('GET', '/api/v1/listeners');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.json).toEqual([
      expect.objectContaining({ name: 'controller-listener', rules: 'controller-listener-RuleList-0' }),
    ]);
    const route = await api.call('GET', '/api/v1/routes/controller-listener-RuleList-0-Rule-0-Route-0');
    expect(route.json).toMatchObject({
      destination: 'l7mp-controller',
      retry: { retry_on: 'never', num_retries: 1, timeout: 2000 },
    });
  });

  it('adds, lists and deletes a WebSocket cluster (anchor README example)', async () => {
    api = await startApi();
    const body = {
      cluster: {
        name: 'ws-cluster',
        spec: { protocol: 'WebSocket', port: 16000 },
        endpoints: [{ name: 'ws-ep', spec: { address: '127.0.0.1' } }],
      },
    };
    expect((await api.call('POST', '/api/v1/clusters', body)).json).toEqual(OK);
    const got = await api.call('GET', '/api/v1/clusters/ws-cluster');
    expect(got.json).toMatchObject({
      name: 'ws-cluster',
      spec: { protocol: 'WebSocket', port: 16000 },
      endpoints: 1,
    });
    const recursive = await api.call('GET', '/api/v1/clusters/ws-cluster?recursive=true');
    expect(recursive.json).toMatchObject({ endpoints: [{ name: 'ws-ep', spec: { address: '127.0.0.1' } }] });
    expect((await api.call('GET', '/api/v1/endpoints/ws-ep')).json).toMatchObject({
      name: 'ws-ep',
      weight: 1,
    });
    expect((await api.call('DELETE', '/api/v1/clusters/ws-cluster')).json).toEqual(OK);
    expect((await api.call('GET', '/api/v1/clusters/ws-cluster')).status).toBe(404);
  });

  it('accepts the weighted sticky-session cluster as YAML, verbatim from the anchor README', async () => {
    api = await startApi();
    const yaml = [
      'cluster:',
      '  name: ws-cluster-with-sticky-sessions',
      '  spec: { protocol: "WebSocket", port: 16000 }',
      '  endpoints:',
      '    - spec: { address:  "127.0.0.1" }',
      '      weight: 3',
      '    - spec: { address:  "127.0.0.2" }',
      '  loadbalancer: { policy: "ConsistentHash", key: "IP/src_addr" }',
      '',
    ].join('\n');
    const res = await api.call('POST', '/api/v1/clusters', yaml, { 'content-type': 'text/x-yaml' });
    expect(res.json).toEqual(OK);
    const got = await api.call('GET', '/api/v1/clusters/ws-cluster-with-sticky-sessions/endpoints');
    expect((got.json as { weight: number }[]).map((e) => e.weight)).toEqual([3, 1]);
    const cluster = await api.call('GET', '/api/v1/clusters/ws-cluster-with-sticky-sessions');
    expect(cluster.json).toMatchObject({ loadbalancer: { policy: 'ConsistentHash', key: 'IP/src_addr' } });
  });

  it('tolerates content-type parameters and every anchor JSON/YAML type', async () => {
    api = await startApi();
    for (const [i, type] of [
      'application/json; charset=utf-8',
      'text/json',
      'application/x-json',
      'text/x-json',
    ].entries()) {
      const res = await api.call(
        'POST',
        '/api/v1/clusters',
        { cluster: { name: `e${i}`, spec: { protocol: 'Echo' } } },
        { 'content-type': type },
      );
      expect(res.json).toEqual(OK);
    }
    for (const [i, type] of [
      'text/yaml',
      'application/yaml',
      'application/x-yaml; charset=utf-8',
    ].entries()) {
      const res = await api.call(
        'POST',
        '/api/v1/clusters',
        `cluster: {name: y${i}, spec: {protocol: Discard}}`,
        { 'content-type': type },
      );
      expect(res.json).toEqual(OK);
    }
  });

  it('manages rulelists, rules by position and by name, rules and routes', async () => {
    api = await startApi();
    expect(
      (await api.call('POST', '/api/v1/clusters', { cluster: { name: 'echo', spec: { protocol: 'Echo' } } }))
        .json,
    ).toEqual(OK);
    expect(
      (await api.call('POST', '/api/v1/routes', { route: { name: 'to-echo', destination: 'echo' } })).json,
    ).toEqual(OK);
    expect(
      (
        await api.call('POST', '/api/v1/rules', {
          rule: {
            name: 'r1',
            match: { op: 'starts', path: '/HTTP/url/path', value: '/x' },
            action: { route: 'to-echo' },
          },
        })
      ).json,
    ).toEqual(OK);
    expect(
      (await api.call('POST', '/api/v1/rulelists', { rulelist: { name: 'rl', rules: ['r1'] } })).json,
    ).toEqual(OK);
    // Insert an inline rule at position 1 and a named one at 0.
    expect(
      (
        await api.call('POST', '/api/v1/rulelists/rl/rules/1', {
          rule: { action: { route: { destination: { name: 'echo-2', spec: { protocol: 'Echo' } } } } },
        })
      ).json,
    ).toEqual(OK);
    expect((await api.call('POST', '/api/v1/rulelists/rl/rules/0', { rule: 'r1' })).json).toEqual(OK);
    const list = await api.call('GET', '/api/v1/rulelists/rl');
    expect((list.json as { rules: string[] }).rules).toEqual(['r1', 'r1', 'rl-Rule-1']);
    const atTwo = await api.call('GET', '/api/v1/rulelists/rl/rules/2?recursive=true');
    expect(atTwo.json).toMatchObject({
      match: { match: '*' },
      action: { route: { destination: { name: 'echo-2' } } },
    });
    // Delete by position (recursive removes the inline rule's route and cluster), then by name.
    expect((await api.call('DELETE', '/api/v1/rulelists/rl/rules/2?recursive=true')).json).toEqual(OK);
    expect((await api.call('GET', '/api/v1/clusters/echo-2')).status).toBe(404);
    expect((await api.call('DELETE', '/api/v1/rulelists/rl/rules/r1')).json).toEqual(OK);
    expect(((await api.call('GET', '/api/v1/rulelists/rl')).json as { rules: string[] }).rules).toEqual([
      'r1',
    ]);
    expect((await api.call('GET', '/api/v1/rules/r1')).json).toMatchObject({
      match: { op: 'starts', value: '/x' },
    });
    expect((await api.call('GET', '/api/v1/rules')).status).toBe(200);
    expect((await api.call('GET', '/api/v1/rulelists')).status).toBe(200);
    expect((await api.call('GET', '/api/v1/routes')).status).toBe(200);
    expect((await api.call('DELETE', '/api/v1/rulelists/rl')).json).toEqual(OK);
    expect((await api.call('DELETE', '/api/v1/rules/r1')).json).toEqual(OK);
    expect((await api.call('DELETE', '/api/v1/routes/to-echo')).json).toEqual(OK);
  });

  it('addresses objects whose names contain slashes (percent-encoded)', async () => {
    api = await startApi();
    const name = '/l7mp.io/v1/Target/default/udp-cluster';
    await api.call('POST', '/api/v1/clusters', {
      cluster: { name, spec: { protocol: 'WebSocket', port: 9999 } },
    });
    const encoded = encodeURIComponent(name);
    expect((await api.call('GET', `/api/v1/clusters/${encoded}`)).json).toMatchObject({ name });
    const ep = { endpoint: { name: `${name}/10.0.0.1`, spec: { address: '10.0.0.1' } } };
    expect((await api.call('POST', `/api/v1/clusters/${encoded}/endpoints`, ep)).json).toEqual(OK);
    expect(
      (await api.call('DELETE', `/api/v1/endpoints/${encodeURIComponent(`${name}/10.0.0.1`)}`)).json,
    ).toEqual(OK);
  });

  it('lists sessions, including the API call itself, and 404s an unknown one', async () => {
    api = await startApi();
    const sessions = await api.call('GET', '/api/v1/sessions');
    const list = sessions.json as { name: string; source: { origin: string } }[];
    expect(list.some((s) => s.name.startsWith('HTTP:') && s.source.origin === 'controller-listener')).toBe(
      true,
    );
    const missing = await api.call('DELETE', '/api/v1/sessions/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ status: 404, message: 'Not Found', content: 'No such session: nope' });
  });

  it('reads and changes admin settings, and formats output on request', async () => {
    api = await startApi();
    expect((await api.call('POST', '/api/v1/admin', { admin: { log_level: 'warn' } })).json).toEqual(OK);
    const admin = await api.call('GET', '/api/v1/admin?format=terse');
    expect(admin.json).toMatchObject({ log_level: 'warn', strict: false, version: expect.any(String) });
    expect(admin.text).not.toContain('\n');
    expect((await api.call('GET', '/api/v1/admin')).text).toContain('\n  ');
  });

  it('PUT /config twice with the same document changes nothing the second time; GET /config round-trips', async () => {
    api = await startApi();
    const current = (await api.call('GET', '/api/v1/config')).json as Record<string, unknown>;
    expect(Object.keys(current)).toEqual(
      expect.arrayContaining([
        'admin',
        'listeners',
        'clusters',
        'rulelists',
        'rules',
        'routes',
        'endpoints',
        'sessions',
      ]),
    );
    const desired = {
      ...current,
      clusters: [
        ...(current.clusters as unknown[]),
        {
          name: 'extra',
          spec: { protocol: 'WebSocket', port: 9999 },
          endpoints: [{ name: 'x1', spec: { address: '127.0.0.9' } }],
        },
      ],
    };
    const first = await api.call('PUT', '/api/v1/config', desired);
    expect(first.json).toMatchObject({ status: 200, changed: true, added: { clusters: ['extra'] } });
    const second = await api.call('PUT', '/api/v1/config', desired);
    expect(second.json).toMatchObject({ status: 200, changed: false, added: {}, updated: {}, removed: {} });
    const roundTrip = await api.call('PUT', '/api/v1/config', (await api.call('GET', '/api/v1/config')).json);
    expect(roundTrip.json).toMatchObject({ changed: false });
    // The API kept answering through all of it: its own listener was never touched.
    expect((await api.call('GET', '/api/v1/clusters/extra/endpoints')).json).toMatchObject([{ name: 'x1' }]);
  });

  it('POST /config adds the objects of a config', async () => {
    api = await startApi();
    const res = await api.call('POST', '/api/v1/config', {
      clusters: [{ name: 'echo', spec: { protocol: 'Echo' } }],
    });
    expect(res.json).toEqual(OK);
    expect((await api.call('GET', '/api/v1/clusters/echo')).status).toBe(200);
  });

  it('serves the OpenAPI document and health checks', async () => {
    api = await startApi();
    const doc = (await api.call('GET', '/api/v1/openapi.json')).json as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.values(doc.paths).flatMap((p) => Object.keys(p));
    // The 17 paths of the anchor carry 34 operations; PUT /config, openapi, healthz and readyz add 4.
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/config',
        '/api/v1/admin',
        '/api/v1/listeners',
        '/api/v1/listeners/{name}',
        '/api/v1/clusters',
        '/api/v1/clusters/{name}',
        '/api/v1/clusters/{name}/endpoints',
        '/api/v1/endpoints/{name}',
        '/api/v1/rulelists/{name}/rules/{position}',
        '/api/v1/rulelists',
        '/api/v1/rulelists/{name}',
        '/api/v1/rules',
        '/api/v1/rules/{name}',
        '/api/v1/routes',
        '/api/v1/routes/{name}',
        '/api/v1/sessions',
        '/api/v1/sessions/{name}',
      ]),
    );
    expect(operations).toHaveLength(38);
    expect((await api.call('GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await api.call('GET', '/readyz')).json).toEqual({ status: 'ready' });
  });
});

describe('REST API errors', () => {
  let api: ApiHarness;
  afterEach(async () => {
    await api.proxy.close();
  });

  it('malformed JSON and YAML are 400 with the parser message', async () => {
    api = await startApi();
    const json = await api.call('POST', '/api/v1/clusters', '{"cluster": ', {
      'content-type': 'application/json',
    });
    expect(json.status).toBe(400);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(json.json).toMatchObject({
      status: 400,
      message: 'Bad Request',
      content: expect.stringMatching(/^Invalid JSON format in request: /),
    });
    const yaml = await api.call('POST', '/api/v1/clusters', 'cluster: [unclosed', {
      'content-type': 'text/yaml',
    });
    expect(yaml.status).toBe(400);
    expect(yaml.json).toMatchObject({ content: expect.stringMatching(/^Invalid YAML format in request: /) });
  });

  it('an unsupported or missing content type is 415', async () => {
    api = await startApi();
    const res = await api.call('POST', '/api/v1/clusters', 'cluster=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(415);
    expect(res.json).toMatchObject({
      status: 415,
      message: 'Unsupported Media Type',
      content: expect.stringContaining('application/x-www-form-urlencoded'),
    });
  });

  it('unknown objects are 404 with a descriptive content', async () => {
    api = await startApi();
    expect((await api.call('GET', '/api/v1/listeners/nope')).json).toEqual({
      status: 404,
      message: 'Not Found',
      content: 'No such listener: nope',
    });
    expect((await api.call('DELETE', '/api/v1/listeners/nope')).json).toEqual({
      status: 404,
      message: 'Not Found',
      content: 'Cannot delete listener: Unknown listener "nope"',
    });
    expect((await api.call('DELETE', '/api/v1/clusters/nope')).status).toBe(404);
    expect((await api.call('GET', '/api/v1/endpoints/nope')).status).toBe(404);
    expect(
      (
        await api.call('POST', '/api/v1/clusters/nope/endpoints', {
          endpoint: { spec: { address: '1.2.3.4' } },
        })
      ).status,
    ).toBe(404);
    expect((await api.call('GET', '/api/v1/rulelists/nope/rules/0')).status).toBe(404);
  });

  it('an unknown path is 404 and a known path with the wrong method is 405', async () => {
    api = await startApi();
    const unknown = await api.call('GET', '/api/v1/nothing-here');
    expect(unknown.json).toEqual({
      status: 404,
      message: 'Not Found',
      content: 'Unknown API operation: GET /api/v1/nothing-here',
    });
    const wrongMethod = await api.call('PUT', '/api/v1/listeners', { listener: {} });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
  });

  it('a duplicate is 400 with the anchor wording ending in "already defined"', async () => {
    api = await startApi();
    const body = { cluster: { name: 'dup', spec: { protocol: 'Echo' } } };
    await api.call('POST', '/api/v1/clusters', body);
    const res = await api.call('POST', '/api/v1/clusters', body);
    expect(res.status).toBe(400);
    expect((res.json as { content: string }).content).toMatch(/Cluster "dup" already defined$/);
  });

  it('an invalid spec lists every problem with its path (400, or 422 in strict mode)', async () => {
    api = await startApi();
    const body = {
      listener: {
        name: 'bad',
        spec: { protocol: 'UDP', port: 'abc' },
        rules: [{ action: { route: { destination: 'x', retry: { retry_on: 'sometimes' } } } }],
      },
    };
    const res = await api.call('POST', '/api/v1/listeners', body);
    expect(res.status).toBe(400);
    const json = res.json as { content: string; issues: { path: string; message: string }[] };
    expect(json.issues).toEqual([
      { path: 'listener.spec.port', message: 'expected an integer 0-65535, got "abc"' },
      {
        path: 'listener.rules[0].action.route.retry.retry_on',
        message: 'expected one of never, connect-failure, disconnect, always, got "sometimes"',
      },
    ]);
    expect(json.content).toContain('listener.spec.port: expected an integer 0-65535, got "abc"');
    // Nothing was created by the failed add.
    expect((await api.call('GET', '/api/v1/rulelists')).json).toHaveLength(1);

    await api.proxy.close();
    api = await startApi({ strict: true });
    const strict = await api.call('POST', '/api/v1/listeners', body);
    expect(strict.status).toBe(422);
    expect((await api.call('GET', '/api/v1/listeners?recursive=1')).status).toBe(422);
  });

  it('a body without its wrapper is 400 naming the expected key', async () => {
    api = await startApi();
    const res = await api.call('POST', '/api/v1/listeners', { name: 'x' });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      content: 'Request body must be an object of the form {"listener": {...}}, got keys "name"',
    });
    expect(
      (await api.call('POST', '/api/v1/listeners', '', { 'content-type': 'application/json' })).status,
    ).toBe(400);
  });

  it('a bad rule position is an error', async () => {
    api = await startApi();
    await api.call('POST', '/api/v1/rulelists', { rulelist: { name: 'rl', rules: [] } });
    expect((await api.call('POST', '/api/v1/rulelists/rl/rules/10', { rule: 'x' })).status).toBe(400);
    expect((await api.call('POST', '/api/v1/rulelists/rl/rules/abc', { rule: 'x' })).status).toBe(400);
    expect((await api.call('DELETE', '/api/v1/rulelists/rl/rules/0')).status).toBe(404);
  });

  it('with a token, calls without it or with a wrong one are 401; health checks stay open', async () => {
    api = await startApi({ token: 's3cret' });
    const none = await api.call('GET', '/api/v1/listeners');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.json).toMatchObject({ status: 401, message: 'Unauthorized' });
    expect(
      (await api.call('GET', '/api/v1/listeners', undefined, { authorization: 'Bearer nope' })).status,
    ).toBe(401);
    expect(
      (await api.call('GET', '/api/v1/listeners', undefined, { authorization: 'Bearer s3cret' })).status,
    ).toBe(200);
    expect((await api.call('GET', '/healthz')).status).toBe(200);
  });
});
