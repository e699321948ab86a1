import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Proxy } from '@l7mp/core';
import {
  httpRequest,
  listenerPort,
  liveSessionNames,
  LOOPBACK,
  pattern,
  Resources,
  tcpClient,
  udpClient,
  udpEchoServer,
  waitFor,
  within,
} from './helpers';

/** The built-in transforms (anchor §2.7) on the data path of real sessions. */

const resources = new Resources();
afterEach(() => resources.closeAll());

const TCP_IN = { protocol: 'TCP', port: 0, address: LOOPBACK };

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The value of one sample of the proxy's metrics, or undefined if it is not exposed. */
async function metricValue(proxy: Proxy, name: string, labels: string): Promise<number | undefined> {
  const text = await proxy.metricsRegistry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('Logger', () => {
  it('logs every message with the prefix, appends across sessions and passes data on unchanged', async () => {
    const logFile = path.join(await resources.tempDir(), 'traffic.log');
    writeFileSync(logFile, 'kept\n');
    const proxy = await resources.proxy({
      clusters: [
        { name: 'echo', spec: { protocol: 'Echo' } },
        { name: 'logger', spec: { protocol: 'Logger', log_file: logFile, log_prefix: 'in' } },
      ],
      listeners: [
        {
          name: 'in',
          spec: TCP_IN,
          rules: [{ action: { route: { destination: 'echo', ingress: ['logger'] } } }],
        },
      ],
    });
    const port = listenerPort(proxy, 'in');
    for (const line of ['first session\n', 'second session\n']) {
      const client = await tcpClient(resources, { port });
      client.socket.write(line);
      expect((await client.data.waitBytes(line.length)).toString()).toBe(line);
      client.socket.end();
      await within(client.closed, 'the client to close');
    }
    const expected = 'kept\nin: first session\nin: second session\n';
    await waitFor(
      () => readOrEmpty(logFile) === expected,
      `the log file to read ${JSON.stringify(expected)}`,
    );
  });

  it('a log file that cannot be opened fails the session instead of the proxy', async () => {
    const logFile = path.join(await resources.tempDir(), 'no-such-dir', 'traffic.log');
    const proxy = await resources.proxy({
      clusters: [
        { name: 'echo', spec: { protocol: 'Echo' } },
        { name: 'logger', spec: { protocol: 'Logger', log_file: logFile } },
      ],
      listeners: [
        {
          name: 'in',
          spec: TCP_IN,
          rules: [{ action: { route: { destination: 'echo', ingress: ['logger'] } } }],
        },
      ],
    });
    const errors: string[] = [];
    proxy.on('session-end', (_session, error) => errors.push(error?.message ?? 'normal end'));
    const client = await tcpClient(resources, { port: listenerPort(proxy, 'in') });
    await within(client.closed, 'the client to be closed');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/cannot open log file/);
  });
});

describe('JSONEncap and JSONDecap over UDP', () => {
  async function udpThrough(route: Record<string, unknown>) {
    const server = await udpEchoServer(resources);
    const proxy = await resources.proxy({
      clusters: [
        {
          name: 'udp-echo',
          spec: { protocol: 'UDP', port: server.port },
          endpoints: [{ name: 'udp-echo-1', spec: { address: LOOPBACK } }],
        },
        { name: 'encap', spec: { protocol: 'JSONEncap' } },
        { name: 'decap', spec: { protocol: 'JSONDecap' } },
      ],
      listeners: [
        {
          name: 'in',
          spec: { protocol: 'UDP', port: 0, address: LOOPBACK },
          rules: [{ action: { route: { destination: 'udp-echo', ...route } } }],
        },
      ],
    });
    const client = await udpClient(resources, listenerPort(proxy, 'in'));
    return { server, client, proxy };
  }

  it('ingress [JSONEncap, JSONDecap]: every payload reaches the echo server and comes back intact', async () => {
    const { server, client } = await udpThrough({ ingress: ['encap', 'decap'] });
    const messages = [pattern(1, 1), pattern(700, 2), pattern(1400, 3)];
    for (const message of messages) {
      client.send(message);
      expect(await client.inbox.next('the round trip')).toEqual(message);
    }
    expect(server.received).toEqual(messages);
  });

  it('JSONEncap wraps the session metadata and a base64 payload; JSONDecap on the way back unwraps it', async () => {
    const { server, client, proxy } = await udpThrough({ ingress: ['encap'], egress: ['decap'] });
    const message = pattern(300, 4);
    client.send(message);
    expect(await client.inbox.next('the decapsulated echo')).toEqual(message);
    const [wire] = server.received;
    const decoded = JSON.parse(wire?.toString() ?? '') as {
      metadata: { name?: string; IP?: { src_addr?: string }; UDP?: { src_port?: number } };
      payload: string;
    };
    expect(Buffer.from(decoded.payload, 'base64')).toEqual(message);
    expect(decoded.metadata.name).toBe(liveSessionNames(proxy)[0]);
    expect(decoded.metadata.IP?.src_addr).toBe(LOOPBACK);
    expect(decoded.metadata.UDP?.src_port).toBe(client.port);
  });
});

describe('Discard', () => {
  it('nothing comes back, and what was sent is counted', async () => {
    const proxy = await resources.proxy({
      clusters: [{ name: 'discard', spec: { protocol: 'Discard' } }],
      listeners: [
        {
          name: 'in',
          spec: TCP_IN,
          rules: [{ action: { route: { destination: 'discard' } } }],
        },
      ],
    });
    const client = await tcpClient(resources, { port: listenerPort(proxy, 'in') });
    client.socket.write(pattern(1000));
    await waitFor(() => liveSessionNames(proxy).length === 1, 'the session');
    // Counted as soon as the proxy hands the bytes to the Discard cluster.
    let counted: number | undefined;
    const deadline = Date.now() + 3000;
    while (
      (counted = await metricValue(proxy, 'l7mp_cluster_bytes_out_total', 'clusterName="discard"')) !== 1000
    ) {
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(counted).toBe(1000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(client.data.bytes.length).toBe(0);
    // The end of input ends the (empty) output: the session ends normally.
    client.socket.end();
    await client.data.waitEnd();
  });
});

describe('Sync', () => {
  async function syncProxy(rewrite: boolean) {
    return resources.proxy({
      clusters: [{ name: 'rendezvous', spec: { protocol: 'Sync', query: '/labels/room' } }],
      listeners: [
        {
          name: 'in',
          spec: TCP_IN,
          rules: [
            {
              action: {
                ...(rewrite ? { rewrite: [{ path: '/labels/room', value: 'room-1' }] } : {}),
                route: { destination: 'rendezvous' },
              },
            },
          ],
        },
      ],
    });
  }

  it('two TCP clients with the same label meet: what one sends the other receives', async () => {
    const proxy = await syncProxy(true);
    const port = listenerPort(proxy, 'in');
    const first = await tcpClient(resources, { port });
    await waitFor(() => liveSessionNames(proxy).length === 1, 'the first session');
    // Sent while alone: kept for the first peer.
    first.socket.write('early ');
    const second = await tcpClient(resources, { port });
    expect((await second.data.waitBytes('early '.length)).toString()).toBe('early ');
    second.socket.write('hello first');
    expect((await first.data.waitBytes('hello first'.length)).toString()).toBe('hello first');
    first.socket.write('hello second');
    await second.data.waitText('hello second');
    expect(second.data.text()).toBe('early hello second');
    // Nothing is sent back to its own sender.
    expect(first.data.text()).toBe('hello first');
  });

  it('a session without the label fails with an error and its client is closed', async () => {
    const proxy = await syncProxy(false);
    const ended: (Error | undefined)[] = [];
    proxy.on('session-end', (_session, error) => ended.push(error));
    const client = await tcpClient(resources, { port: listenerPort(proxy, 'in') });
    await within(client.closed, 'the client to be closed');
    expect(ended[0]?.message).toMatch(/gives no label/);
  });
});

describe('Metric and Prometheus', () => {
  it('an HTTP /metrics route to a Prometheus cluster shows the bytes of a session through a Metric cluster', async () => {
    const proxy = await resources.proxy({
      clusters: [
        { name: 'echo', spec: { protocol: 'Echo' } },
        { name: 'metric', spec: { protocol: 'Metric' } },
        { name: 'prometheus', spec: { protocol: 'Prometheus' } },
      ],
      listeners: [
        {
          name: 'in',
          spec: TCP_IN,
          rules: [{ action: { route: { destination: 'echo', ingress: ['metric'] } } }],
        },
        {
          name: 'metrics',
          spec: { protocol: 'HTTP', port: 0, address: LOOPBACK },
          rules: [
            {
              match: { op: 'starts', path: '/HTTP/url/path', value: '/metrics' },
              action: { route: { destination: 'prometheus' } },
            },
          ],
        },
      ],
    });
    const client = await tcpClient(resources, { port: listenerPort(proxy, 'in') });
    client.socket.write('twelve bytes');
    await client.data.waitBytes(12);
    const [session] = liveSessionNames(proxy).filter((name) => name.startsWith('TCP:'));
    expect(session).toBeDefined();
    const response = await httpRequest(listenerPort(proxy, 'metrics'), { method: 'GET', path: '/metrics' });
    expect(response.status).toBe(200);
    const sample = response.body
      .split('\n')
      .find(
        (line) =>
          line.startsWith('session_byte_counter_total{') &&
          line.includes(`sessionName="${session ?? ''}"`) &&
          line.includes('clusterName="metric"'),
      );
    expect(sample).toBeDefined();
    expect(sample?.endsWith(' 12')).toBe(true);
    expect(response.body).toMatch(/# TYPE session_packet_counter_total counter/);
    // Another path has no route.
    const other = await httpRequest(listenerPort(proxy, 'metrics'), { method: 'GET', path: '/other' });
    expect(other.status).toBe(404);
  });
});
