import { afterEach, describe, expect, it } from '@jest/globals';
import type { Proxy, SessionMetadata } from '@l7mp/core';
import {
  httpRequest,
  listenerPort,
  LOOPBACK,
  Resources,
  tcpEchoServer,
  udpClient,
  udpEchoServer,
} from './helpers';

/** Rule matching, rewrites and `apply` (anchor §4) on real HTTP and UDP sessions. */

const resources = new Resources();
afterEach(() => resources.closeAll());

/** The metadata of every session once routed, by session name. */
function recordMetadata(proxy: Proxy): Map<string, SessionMetadata> {
  const seen = new Map<string, SessionMetadata>();
  proxy.on('session-connect', (session) => seen.set(session.name, structuredClone(session.metadata)));
  return seen;
}

describe('HTTP listener rules', () => {
  async function httpProxy(): Promise<{ proxy: Proxy; port: number }> {
    const a = await tcpEchoServer(resources, { tag: 'A:' });
    const b = await tcpEchoServer(resources, { tag: 'B:' });
    const proxy = await resources.proxy({
      clusters: [
        { name: 'echo', spec: { protocol: 'Echo' } },
        {
          name: 'backend-a',
          spec: { protocol: 'TCP', port: a.port },
          endpoints: [{ name: 'a-1', spec: { address: LOOPBACK } }],
        },
        {
          name: 'backend-b',
          spec: { protocol: 'TCP', port: b.port },
          endpoints: [{ name: 'b-1', spec: { address: LOOPBACK } }],
        },
      ],
      routes: [
        { name: 'to-echo', destination: 'echo' },
        { name: 'to-a', destination: 'backend-a' },
        { name: 'to-b', destination: 'backend-b' },
      ],
      rules: [
        {
          name: 'echo-path',
          match: { op: 'starts', path: '/HTTP/url/path', value: '/echo' },
          action: { route: 'to-echo' },
        },
        {
          name: 'header-b',
          match: { op: 'test', path: '/HTTP/headers/x-backend', value: 'b' },
          action: { route: 'to-b' },
        },
        {
          name: 'api-prefix',
          match: { op: 'starts', path: '/HTTP/url/path', value: '/api/' },
          // The outer rule's rewrite is not applied when it hands over to another RuleList.
          action: { rewrite: [{ path: '/labels/outer', value: 'set' }], apply: 'api-rules' },
        },
        {
          name: 'api-tenant',
          match: {
            op: 'and',
            apply: [
              { op: 'defined', path: '/HTTP/headers/x-tenant' },
              { op: 'starts', path: '/HTTP/url/path', value: '/api/v1' },
            ],
          },
          action: {
            rewrite: [
              { path: '/labels/tier', value: 'gold' },
              { path: '/labels/owner', value: { team: 'api' } },
            ],
            route: 'to-a',
          },
        },
        { name: 'api-default', action: { route: 'to-echo' } },
        {
          name: 'loop-enter',
          match: { op: 'starts', path: '/HTTP/url/path', value: '/loop' },
          action: { apply: 'loop-a' },
        },
        { name: 'loop-a-rule', action: { apply: 'loop-b' } },
        { name: 'loop-b-rule', action: { apply: 'loop-a' } },
      ],
      rulelists: [
        { name: 'main', rules: ['echo-path', 'header-b', 'api-prefix', 'loop-enter'] },
        { name: 'api-rules', rules: ['api-tenant', 'api-default'] },
        { name: 'loop-a', rules: ['loop-a-rule'] },
        { name: 'loop-b', rules: ['loop-b-rule'] },
      ],
      listeners: [{ name: 'api', spec: { protocol: 'HTTP', port: 0, address: LOOPBACK }, rules: 'main' }],
    });
    return { proxy, port: listenerPort(proxy, 'api') };
  }

  it('a path prefix match routes to its cluster', async () => {
    const { port } = await httpProxy();
    const response = await httpRequest(port, { path: '/echo/this', body: 'ping' });
    expect(response).toMatchObject({ status: 200, body: 'ping' });
  });

  it('a header value match routes to its cluster; the same path without the header does not', async () => {
    const { port } = await httpProxy();
    const withHeader = await httpRequest(port, { path: '/x', headers: { 'x-backend': 'b' }, body: 'ping' });
    expect(withHeader).toMatchObject({ status: 200, body: 'B:ping' });
    const otherValue = await httpRequest(port, { path: '/x', headers: { 'x-backend': 'c' }, body: 'ping' });
    expect(otherValue.status).toBe(404);
  });

  it('apply continues in another RuleList, whose rule rewrites labels (the outer rewrite is not applied)', async () => {
    const { proxy, port } = await httpProxy();
    const metadata = recordMetadata(proxy);
    const response = await httpRequest(port, {
      path: '/api/v1/items',
      headers: { 'x-tenant': 't1' },
      body: 'ping',
    });
    expect(response).toMatchObject({ status: 200, body: 'A:ping' });
    const [only] = [...metadata.values()];
    expect(only?.labels).toEqual({ tier: 'gold', owner: { team: 'api' } });
    // The applied RuleList's default rule takes what its first rule does not match.
    const fallback = await httpRequest(port, {
      path: '/api/v2/items',
      headers: { 'x-tenant': 't1' },
      body: 'pong',
    });
    expect(fallback).toMatchObject({ status: 200, body: 'pong' });
  });

  it('a request no rule matches gets a 404 JSON answer naming its session', async () => {
    const { port } = await httpProxy();
    const response = await httpRequest(port, { method: 'GET', path: '/nothing' });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/json');
    const body = JSON.parse(response.body) as { status: number; content: string };
    expect(body.status).toBe(404);
    expect(body.content).toMatch(/^No route for session "HTTP:127\.0\.0\.1:\d+-127\.0\.0\.1:\d+-\d+"$/);
  });

  it('an apply loop is answered with an error instead of hanging, and the proxy keeps serving', async () => {
    const { proxy, port } = await httpProxy();
    const response = await httpRequest(port, { method: 'GET', path: '/loop' });
    expect(response.status).toBeGreaterThanOrEqual(400);
    const body = JSON.parse(response.body) as { content: string };
    expect(body.content).toMatch(/loop/i);
    expect(body.content).toMatch(/loop-a/);
    expect(proxy.sessions()).toEqual([]);
    const after = await httpRequest(port, { path: '/echo', body: 'still here' });
    expect(after).toMatchObject({ status: 200, body: 'still here' });
  });
});

describe('UDP listener rules', () => {
  async function udpProxy(rules: unknown[]): Promise<{ proxy: Proxy; port: number }> {
    const a = await udpEchoServer(resources, 'A:');
    const b = await udpEchoServer(resources, 'B:');
    const proxy = await resources.proxy({
      clusters: [
        { name: 'echo', spec: { protocol: 'Echo' } },
        {
          name: 'backend-a',
          spec: { protocol: 'UDP', port: a.port },
          endpoints: [{ name: 'a-1', spec: { address: LOOPBACK } }],
        },
        {
          name: 'backend-b',
          spec: { protocol: 'UDP', port: b.port },
          endpoints: [{ name: 'b-1', spec: { address: LOOPBACK } }],
        },
      ],
      rulelists: [{ name: 'udp-rules', rules }],
      listeners: [{ name: 'in', spec: { protocol: 'UDP', port: 0, address: LOOPBACK }, rules: 'udp-rules' }],
    });
    return { proxy, port: listenerPort(proxy, 'in') };
  }

  it('rules match the peer address /IP/src_addr and port /UDP/src_port', async () => {
    const { proxy, port } = await udpProxy([
      {
        match: { op: 'test', path: '/IP/src_addr', value: '127.0.0.2' },
        action: { route: { destination: 'backend-a' } },
      },
    ]);
    const fromPort = await udpClient(resources, port);
    await proxy.addRuleToRuleList('udp-rules', 1, {
      match: { op: 'test', path: '/UDP/src_port', value: fromPort.port },
      action: { route: { destination: 'backend-b' } },
    });
    await proxy.addRuleToRuleList('udp-rules', 2, { action: { route: { destination: 'echo' } } });
    const fromAddress = await udpClient(resources, port, '127.0.0.2');
    const other = await udpClient(resources, port);

    fromAddress.send('x');
    expect((await fromAddress.inbox.next('the reply to 127.0.0.2')).toString()).toBe('A:x');
    fromPort.send('y');
    expect((await fromPort.inbox.next('the reply to the matched port')).toString()).toBe('B:y');
    other.send('z');
    expect((await other.inbox.next('the echo to the other client')).toString()).toBe('z');
  });

  it('a peer whose datagram matched no rule is forgotten: once a rule exists, its next datagram is routed', async () => {
    const { proxy, port } = await udpProxy([
      {
        match: { op: 'test', path: '/IP/src_addr', value: '127.0.0.2' },
        action: { route: { destination: 'backend-a' } },
      },
    ]);
    const client = await udpClient(resources, port, '127.0.0.3');
    client.send('first');
    expect(await client.inbox.staysEmpty(150)).toBe(true);
    expect(proxy.sessions()).toEqual([]);
    await proxy.addRuleToRuleList('udp-rules', 1, { action: { route: { destination: 'backend-b' } } });
    client.send('second');
    expect((await client.inbox.next('the reply after the rule was added')).toString()).toBe('B:second');
  });
});
