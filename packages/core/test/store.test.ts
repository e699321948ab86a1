import { afterEach, describe, expect, it } from '@jest/globals';
import { AlreadyDefinedError, BadRequestError, NotFoundError, ValidationError } from '../src/errors';
import { harness, testCluster, testListener, type Harness } from './support/engine';

describe('object store', () => {
  let h: Harness;
  afterEach(async () => {
    await h.proxy.close();
  });

  it('names embedded objects like the anchor and dumps them', async () => {
    h = harness();
    await h.proxy.addListener({
      name: 'l',
      spec: { protocol: 'Test' },
      rules: [
        {
          action: {
            route: { destination: { spec: { protocol: 'Test' }, endpoints: [{ spec: { address: 'a' } }] } },
          },
        },
      ],
    });
    expect(h.proxy.getListener('l')).toEqual({
      name: 'l',
      spec: { protocol: 'Test' },
      rules: 'l-RuleList-0',
      options: { track: 0 },
    });
    expect(h.proxy.getRuleList('l-RuleList-0')).toEqual({
      name: 'l-RuleList-0',
      rules: ['l-RuleList-0-Rule-0'],
    });
    expect(h.proxy.getRule('l-RuleList-0-Rule-0')).toEqual({
      name: 'l-RuleList-0-Rule-0',
      match: { match: '*' },
      action: { route: 'l-RuleList-0-Rule-0-Route-0' },
    });
    const route = h.proxy.getRoute('l-RuleList-0-Rule-0-Route-0');
    expect(route).toEqual({
      name: 'l-RuleList-0-Rule-0-Route-0',
      destination: 'l-RuleList-0-Rule-0-Route-0-Cluster-0',
      ingress: [],
      egress: [],
      retry: { retry_on: 'never', num_retries: 1, timeout: 2000 },
    });
    expect(h.proxy.getCluster('l-RuleList-0-Rule-0-Route-0-Cluster-0')).toMatchObject({
      endpoints: 1,
      loadbalancer: { policy: 'Trivial' },
    });
    const recursive = h.proxy.getListener('l', { recursive: true }) as {
      rules: { action: { route: { destination: { endpoints: { name: string }[] } } } }[];
    };
    expect(recursive.rules[0]?.action.route.destination.endpoints[0]?.name).toBe(
      'l-RuleList-0-Rule-0-Route-0-Cluster-0-EndPoint-0',
    );
  });

  it('name counters keep growing for the proxy lifetime', async () => {
    h = harness();
    await h.proxy.addListener({ name: 'l', spec: { protocol: 'Test' }, rules: [] });
    await h.proxy.deleteListener('l', { recursive: true });
    await h.proxy.addListener({ name: 'l', spec: { protocol: 'Test' }, rules: [] });
    expect(h.proxy.getListener('l').rules).toBe('l-RuleList-1');
  });

  it('rejects duplicates with the anchor message and leaves the original alone', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('c', ['a']));
    const error = await h.proxy.addCluster(testCluster('c', ['b'])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlreadyDefinedError);
    expect((error as Error).message).toBe('Cluster "c" already defined');
    expect(h.proxy.listEndpoints('c')).toEqual([{ name: 'c-a', spec: { address: 'a' }, weight: 1 }]);
    await expect(h.proxy.addEndpoint('c', { name: 'c-a', spec: { address: 'x' } })).rejects.toThrow(
      'EndPoint "c-a" already defined',
    );
  });

  it('a cluster with an invalid embedded endpoint fails and leaves nothing', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('taken', ['a']));
    // The second endpoint reuses a name that another cluster holds.
    const error = await h.proxy
      .addCluster({
        name: 'c',
        spec: { protocol: 'Test' },
        endpoints: [
          { name: 'fresh', spec: { address: 'x' } },
          { name: 'taken-a', spec: { address: 'y' } },
        ],
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('EndPoint "taken-a" already defined');
    expect(h.proxy.listClusters().map((c) => c.name)).toEqual(['taken']);
    expect(() => h.proxy.getEndpoint('fresh')).toThrow(NotFoundError);
    // The names are free again.
    await h.proxy.addCluster({
      name: 'c',
      spec: { protocol: 'Test' },
      endpoints: [{ name: 'fresh', spec: { address: 'x' } }],
    });
  });

  it('endpoints: add, list, validate and refuse them on virtual clusters', async () => {
    h = harness();
    await h.proxy.addCluster({ name: 'tcp-like', spec: { protocol: 'Test' } });
    expect(await h.proxy.addEndpoint('tcp-like', { spec: { address: 'z' } })).toEqual({
      name: 'tcp-like-EndPoint-0',
      spec: { address: 'z' },
      weight: 1,
    });
    await expect(h.proxy.addEndpoint('nope', { spec: { address: 'z' } })).rejects.toThrow(
      'Cannot add endpoint: Unknown cluster "nope"',
    );
    await expect(h.proxy.addEndpoint('tcp-like', { weight: 2 })).rejects.toThrow(ValidationError);
    await h.proxy.addCluster({ name: 'echo', spec: { protocol: 'Echo' } });
    await expect(h.proxy.addEndpoint('echo', { spec: { address: 'z' } })).rejects.toThrow(
      'Adding an endpoint to a cluster of type "Echo" is not supported',
    );
    expect(h.proxy.getCluster('echo', { recursive: true }).endpoints).toEqual([
      { name: 'echo', spec: { address: '<VIRTUAL>' } },
    ]);
  });

  it('reports unknown names on get and delete with descriptive messages', async () => {
    h = harness();
    expect(() => h.proxy.getListener('x')).toThrow(NotFoundError);
    await expect(h.proxy.deleteListener('x')).rejects.toThrow('Cannot delete listener: Unknown listener "x"');
    await expect(h.proxy.deleteCluster('x')).rejects.toThrow('Cannot delete cluster: Unknown cluster "x"');
    expect(() => h.proxy.deleteEndpoint('x')).toThrow('Cannot delete endpoint: Unknown endpoint "x"');
    await expect(h.proxy.deleteRuleList('x')).rejects.toThrow('Cannot delete rulelist: Unknown rulelist "x"');
    await expect(h.proxy.deleteRule('x')).rejects.toThrow('Cannot delete rule: Unknown rule "x"');
    await expect(h.proxy.deleteRoute('x')).rejects.toThrow('Cannot delete route: Unknown route "x"');
    expect(() => h.proxy.getSession('x')).toThrow('No such session: x');
    expect(() => h.proxy.deleteSession('x')).toThrow(NotFoundError);
  });

  it('a recursive listener delete removes its generated rulelist, rules, routes and clusters', async () => {
    h = harness();
    await h.proxy.addRule({ name: 'shared', action: { route: 'r' } });
    await h.proxy.addListener({
      name: 'l',
      spec: { protocol: 'Test' },
      rules: [
        'shared',
        { action: { route: { destination: { name: 'inline', spec: { protocol: 'Test' } } } } },
      ],
    });
    await h.proxy.deleteListener('l', { recursive: true });
    expect(h.proxy.listListeners()).toEqual([]);
    expect(h.proxy.listRuleLists()).toEqual([]);
    expect(h.proxy.listRules().map((r) => r.name)).toEqual(['shared']);
    expect(h.proxy.listRoutes()).toEqual([]);
    expect(h.proxy.listClusters()).toEqual([]);
  });

  it('a non-recursive listener delete keeps its rulelist', async () => {
    h = harness();
    await h.proxy.addListener({ name: 'l', spec: { protocol: 'Test' }, rules: [] });
    await h.proxy.deleteListener('l');
    expect(h.proxy.listRuleLists().map((r) => r.name)).toEqual(['l-RuleList-0']);
  });

  it('a recursive RuleList delete removes only generated rules and skips dangling names', async () => {
    h = harness();
    await h.proxy.addRule({ name: 'explicit', action: { route: 'r' } });
    await h.proxy.addRuleList({
      name: 'rl',
      rules: ['explicit', 'dangling', { name: 'inline', action: { route: 'r' } }],
    });
    await h.proxy.deleteRuleList('rl', { recursive: true });
    expect(h.proxy.listRules().map((r) => r.name)).toEqual(['explicit']);
  });

  it('a recursive route delete removes only the clusters it embedded', async () => {
    h = harness();
    await h.proxy.addCluster(testCluster('named', ['a']));
    await h.proxy.addRoute({
      name: 'r',
      destination: 'named',
      ingress: [{ name: 'inline', spec: { protocol: 'Echo' } }],
    });
    await h.proxy.deleteRoute('r', { recursive: true });
    expect(h.proxy.listClusters().map((c) => c.name)).toEqual(['named']);
  });

  it('inserts and removes rules in a RuleList by position and by name', async () => {
    h = harness();
    await h.proxy.addRuleList({ name: 'rl', rules: ['a', 'b'] });
    await h.proxy.addRuleToRuleList('rl', 2, 'c');
    await h.proxy.addRuleToRuleList('rl', 0, {
      action: { route: { destination: { name: 'echo-2', spec: { protocol: 'Echo' } } } },
    });
    expect(h.proxy.getRuleList('rl').rules).toEqual(['rl-Rule-0', 'a', 'b', 'c']);
    expect(h.proxy.getRuleFromRuleList('rl', 0)).toMatchObject({ name: 'rl-Rule-0', match: { match: '*' } });
    await expect(h.proxy.addRuleToRuleList('rl', 5, 'x')).rejects.toThrow(
      'Cannot insert rule at position 5 into rulelist "rl"',
    );
    await expect(h.proxy.addRuleToRuleList('none', 0, 'x')).rejects.toThrow('No such rule list: none');
    // Bounds check is `>=` (the anchor allowed position == length).
    await expect(h.proxy.deleteRuleFromRuleList('rl', 4)).rejects.toThrow(
      'No rule at position 4 in RuleList "rl"',
    );
    await expect(h.proxy.deleteRuleFromRuleList('rl', 'zz')).rejects.toThrow('No rule zz on rulelist rl');
    await h.proxy.deleteRuleFromRuleList('rl', 'b');
    await h.proxy.deleteRuleFromRuleList('rl', '0', { recursive: true });
    expect(h.proxy.getRuleList('rl').rules).toEqual(['a', 'c']);
    expect(h.proxy.listRules()).toEqual([]);
    expect(() => h.proxy.getCluster('echo-2')).toThrow(NotFoundError);
  });

  it('a listener that cannot start fails its add and leaves nothing behind', async () => {
    h = harness();
    const error = await h.proxy
      .addListener(
        testListener('broken', { name: 'inline', spec: { protocol: 'Test' } }, {}, { fail_start: true }),
      )
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'Cannot add listener: listener "broken" cannot start: EADDRINUSE: address already in use',
    );
    expect(h.proxy.getConfig()).toMatchObject({
      listeners: [],
      clusters: [],
      rulelists: [],
      rules: [],
      routes: [],
    });
    // Every name is free again.
    await h.proxy.addCluster({ name: 'inline', spec: { protocol: 'Test' } });
  });

  it('applyConfig validates the whole input and applies nothing when anything is wrong', async () => {
    h = harness();
    const error = await h.proxy
      .applyConfig({
        clusters: [testCluster('ok', ['a']), { name: 'bad', spec: { protocol: 'UDP', port: 0 } }],
        listeners: [{ name: 'l', spec: { protocol: 'Test' } }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    const issues = (error as ValidationError).issues.map((i) => i.path.join('.'));
    expect(issues).toEqual(expect.arrayContaining(['clusters.1.spec.port', 'listeners.0.rules']));
    expect(h.proxy.listClusters()).toEqual([]);
  });

  it('applyConfig reports a protocol nobody registered and applies nothing', async () => {
    h = harness();
    const error = await h.proxy
      .applyConfig({
        clusters: [testCluster('ok', ['a']), { name: 'u', spec: { protocol: 'UDP', port: 1 } }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('Unknown cluster protocol "UDP"');
    expect(h.proxy.listClusters()).toEqual([]);
  });

  it('applyConfig rolls back everything when a listener cannot start', async () => {
    h = harness();
    const error = await h.proxy
      .applyConfig({
        clusters: [testCluster('c', ['a'])],
        listeners: [testListener('good', 'c'), testListener('bad', 'c', {}, { fail_start: true })],
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toContain('listener "bad" cannot start');
    expect(h.proxy.getConfig()).toMatchObject({
      listeners: [],
      clusters: [],
      rulelists: [],
      rules: [],
      routes: [],
    });
    expect(h.net.listeners.size).toBe(0);
  });

  it('applyConfig applies a valid config with late-bound references', async () => {
    h = harness();
    await h.proxy.applyConfig({
      admin: { log_level: 'warn' },
      listeners: [{ name: 'l', spec: { protocol: 'Test' }, rules: 'rl' }],
      rulelists: [{ name: 'rl', rules: ['rule'] }],
      rules: [{ name: 'rule', action: { route: 'route' } }],
      routes: [{ name: 'route', cluster: 'c' }],
      clusters: [testCluster('c', ['a'])],
    });
    expect(h.proxy.getRoute('route').destination).toBe('c');
    expect(h.proxy.getAdmin().log_level).toBe('warn');
    expect((await h.net.listener('l').open().result).ok).toBe(true);
  });

  it('dumps a dangling reference as STALE in recursive dumps', async () => {
    h = harness();
    await h.proxy.addRuleList({ name: 'rl', rules: ['ghost'] });
    await h.proxy.addRoute({ name: 'r', destination: 'nowhere' });
    expect(h.proxy.getRuleList('rl', { recursive: true }).rules).toEqual(['ghost:<STALE>']);
    expect(h.proxy.getRoute('r', { recursive: true }).destination).toBe('nowhere:<STALE>');
  });

  it('refuses malformed input without throwing anything but typed errors', async () => {
    h = harness();
    for (const input of [
      null,
      42,
      'x',
      [],
      { name: 'a b', spec: { protocol: 'Test' }, rules: [] },
      { name: 'l' },
    ]) {
      await expect(h.proxy.addListener(input)).rejects.toThrow(ValidationError);
    }
    await expect(h.proxy.addRuleToRuleList('rl', 0, 'x')).rejects.toThrow(NotFoundError);
    await h.proxy.addRuleList({ name: 'rl', rules: [] });
    await expect(h.proxy.addRuleToRuleList('rl', 0, { match: 1 })).rejects.toThrow(ValidationError);
    await expect(h.proxy.addRuleToRuleList('rl', -1, 'x')).rejects.toThrow(BadRequestError);
    await expect(h.proxy.applyConfig('not a config')).rejects.toThrow(ValidationError);
  });
});
