import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { ClusterSpec } from '@l7mp/config';
import { Registry } from 'prom-client';
import { ConnectError } from '../src/errors';
import { ProxyMetrics } from '../src/metrics/proxy-metrics';
import {
  builtinTransforms,
  createJSONDecapCluster,
  createStdioCluster,
  createSyncCluster,
} from '../src/transforms';
import type { ClusterTransport, Conduit, ConnectRequest, SessionMetadata } from '../src/transport/types';
import { collect, createTestLogger, makeClusterContext, type TestContextOptions } from '../src/testing';

const conduits: Conduit[] = [];
const clusters: ClusterTransport[] = [];

afterEach(async () => {
  for (const conduit of conduits.splice(0)) conduit.destroy();
  for (const cluster of clusters.splice(0)) await cluster.close?.();
  jest.restoreAllMocks();
});

function cluster(spec: ClusterSpec, options: TestContextOptions = {}): ClusterTransport {
  const factory = builtinTransforms.clusters?.find((f) => f.protocol === spec.protocol);
  if (factory === undefined) throw new Error(`no factory for ${spec.protocol}`);
  const created = factory.create(makeClusterContext(spec, options));
  clusters.push(created);
  return created;
}

let sessionCounter = 0;
function request(metadata: SessionMetadata = {}, sessionName = `s${sessionCounter++}`): ConnectRequest {
  return {
    endpoint: undefined,
    sessionName,
    metadata,
    timeoutMs: 1000,
    signal: new AbortController().signal,
  };
}

async function open(
  target: ClusterTransport,
  metadata?: SessionMetadata,
  sessionName?: string,
): Promise<Conduit> {
  const conduit = await target.connect(request(metadata, sessionName));
  conduits.push(conduit);
  return conduit;
}

describe('builtinTransforms', () => {
  it('registers every transform cluster as a virtual cluster', () => {
    expect(builtinTransforms.name).toBe('builtin');
    const protocols = builtinTransforms.clusters?.map((f) => f.protocol);
    expect(protocols).toEqual([
      'Echo',
      'Discard',
      'Logger',
      'JSONEncap',
      'JSONDecap',
      'Sync',
      'Metric',
      'Stdio',
      'Prometheus',
    ]);
    for (const protocol of protocols ?? []) {
      const spec = (protocol === 'Sync' ? { protocol, query: '/x' } : { protocol }) as ClusterSpec;
      const transport = cluster(spec);
      expect(transport.virtual).toBe(true);
      expect(transport.retriable).toBe(protocol !== 'Stdio');
      expect(['datagram', 'byte-stream']).toContain(transport.kind);
    }
  });

  it('rejects a connect whose signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    for (const spec of [
      { protocol: 'Echo' },
      { protocol: 'Sync', query: '/x' },
      { protocol: 'Logger' },
    ] as const) {
      await expect(
        cluster(spec).connect({ ...request({ x: 'l' }), signal: controller.signal }),
      ).rejects.toThrow(ConnectError);
    }
    await expect(createStdioCluster().connect({ ...request(), signal: controller.signal })).rejects.toThrow(
      'aborted',
    );
  });
});

describe('Echo', () => {
  it('returns every message and answers the end with end and close', async () => {
    const echo = await open(cluster({ protocol: 'Echo' }));
    const out = collect(echo);
    expect(echo.write(Buffer.from('one'))).toBe(true);
    echo.write(Buffer.from('two'));
    expect((await out.waitFor(2)).map(String)).toEqual(['one', 'two']);
    echo.end();
    await out.waitForEnd();
    await out.waitForClose();
    expect(echo.closed).toBe(true);
    expect(out.messages).toHaveLength(2);
  });

  it('holds output while paused and asks for drain', async () => {
    const echo = await open(cluster({ protocol: 'Echo' }));
    const out = collect(echo);
    echo.pause();
    expect(echo.write(Buffer.from('held'))).toBe(false);
    expect(out.messages).toHaveLength(0);
    echo.resume();
    expect(out.messages.map(String)).toEqual(['held']);
    expect(out.drains).toBe(1);
    echo.pause();
    echo.end();
    expect(out.ended).toBe(false);
    echo.resume();
    expect(out.ended).toBe(true);
    expect(out.closed).toBe(true);
  });

  it('keeps the rest held when the consumer pauses again while flushing', async () => {
    const echo = await open(cluster({ protocol: 'Echo' }));
    const received: string[] = [];
    echo.setHandlers({
      data: (chunk) => {
        received.push(String(chunk));
        echo.pause();
      },
      end: () => {},
      close: () => {},
      drain: () => {},
    });
    echo.pause();
    echo.write(Buffer.from('a'));
    echo.write(Buffer.from('b'));
    echo.resume();
    expect(received).toEqual(['a']);
    echo.resume();
    expect(received).toEqual(['a', 'b']);
  });
});

describe('Discard', () => {
  it('drops everything and ends when the input ends', async () => {
    const discard = await open(cluster({ protocol: 'Discard' }));
    const out = collect(discard);
    discard.write(Buffer.from('gone'));
    discard.end();
    await out.waitForClose();
    expect(out.messages).toHaveLength(0);
    expect(out.ended).toBe(true);
  });
});

describe('Logger', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'l7mp-logger-'));
  });
  afterEach(async () => {
    for (const c of clusters.splice(0)) await c.close?.();
    await rm(dir, { recursive: true, force: true });
  });

  it('appends every session to one file with the prefix and passes data on unchanged', async () => {
    const file = join(dir, 'log.txt');
    const logger = cluster({ protocol: 'Logger', log_file: file, log_prefix: 'in' });
    for (const text of ['first', 'second']) {
      const conduit = await open(logger);
      const out = collect(conduit);
      conduit.write(Buffer.from(text));
      expect((await out.waitFor(1)).map(String)).toEqual([text]);
      conduit.end();
      await out.waitForClose();
      expect(out.messages).toHaveLength(1);
    }
    await logger.close?.();
    expect(await readFile(file, 'utf8')).toBe('in: firstin: second');
    // A second cluster on the same file appends instead of truncating.
    const again = cluster({ protocol: 'Logger', log_file: file });
    const conduit = await open(again);
    conduit.write(Buffer.from('+third'));
    await again.close?.();
    expect(await readFile(file, 'utf8')).toBe('in: firstin: second+third');
  });

  it('rejects the connect with a clear error when the file cannot be opened, and retries later', async () => {
    const logger = cluster({ protocol: 'Logger', log_file: join(dir, 'missing-dir', 'log.txt') });
    await expect(logger.connect(request())).rejects.toThrow(ConnectError);
    await expect(logger.connect(request())).rejects.toThrow(/cannot open log file ".*missing-dir/);
  });

  it('refuses sessions after the cluster closed', async () => {
    const logger = cluster({ protocol: 'Logger', log_file: join(dir, 'x.txt') });
    await logger.close?.();
    await expect(logger.connect(request())).rejects.toThrow('is closed');
  });

  it('writes to stdout by default and to stderr on request', async () => {
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const toStdout = await open(cluster({ protocol: 'Logger' }));
    collect(toStdout);
    toStdout.write(Buffer.from('to stdout'));
    const toStderr = await open(cluster({ protocol: 'Logger', log_file: 'stderr', log_prefix: 'p' }));
    collect(toStderr);
    toStderr.write(Buffer.from('to stderr'));
    expect(stdout.mock.calls.map((c) => String(c[0]))).toContain('to stdout');
    expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual(['p: ', 'to stderr']);
  });
});

describe('JSONEncap and JSONDecap', () => {
  it('wraps each message with the session metadata and a base64 payload', async () => {
    const encap = await open(cluster({ protocol: 'JSONEncap' }), { IP: { src_addr: '1.2.3.4' } }, 'sess');
    const out = collect(encap);
    encap.write(Buffer.from('test'));
    const [message] = await out.waitFor(1);
    expect(JSON.parse(String(message))).toEqual({
      metadata: { name: 'sess', IP: { src_addr: '1.2.3.4' } },
      payload: 'dGVzdA==',
    });
    encap.end();
    await out.waitForClose();
    expect(out.messages).toHaveLength(1); // no empty message at the end
  });

  it('round-trips binary data through encap and decap', async () => {
    const encap = await open(cluster({ protocol: 'JSONEncap' }));
    const decap = await open(cluster({ protocol: 'JSONDecap' }));
    const encoded = collect(encap);
    const decoded = collect(decap);
    const data = Buffer.from([0, 255, 10, 13, 34]);
    encap.write(data);
    decap.write((await encoded.waitFor(1))[0] as Buffer);
    expect(((await decoded.waitFor(1))[0] as Buffer).equals(data)).toBe(true);
  });

  it('drops invalid input, counts it and warns once per session', async () => {
    const logger = createTestLogger();
    const context = makeClusterContext({ protocol: 'JSONDecap' }, { logger });
    const decapCluster = createJSONDecapCluster(context);
    const decap = await decapCluster.connect(request());
    conduits.push(decap);
    const out = collect(decap);
    for (const bad of ['not json', '{"no":"payload"}', '"string"', 'null', '{"payload":5}']) {
      decap.write(Buffer.from(bad));
    }
    decap.write(Buffer.from('{"payload":"dGVzdA=="}'));
    decap.end();
    await out.waitForClose();
    expect(out.messages.map(String)).toEqual(['test']);
    expect(decapCluster.dropped).toBe(5);
    const warnings = logger.records.filter((r) => String(r.msg).includes('dropping a message'));
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.msg)).toContain('JSONDecap cluster "test-JSONDecap-cluster"');
  });
});

describe('Sync', () => {
  it('rejects a session without a label', async () => {
    const sync = cluster({ protocol: 'Sync', query: '/JSONSocket/label' });
    await expect(sync.connect(request({}, 'lonely'))).rejects.toThrow(ConnectError);
    await expect(sync.connect(request({ JSONSocket: { label: '' } }, 'lonely'))).rejects.toThrow(
      'Sync cluster "test-Sync-cluster": session "lonely": query "/JSONSocket/label" gives no label',
    );
  });

  it('sends data to every other member of the group, not back to the sender', async () => {
    const sync = cluster({ protocol: 'Sync', query: 'label' });
    const [a, b, c] = await Promise.all([
      open(sync, { label: 'x' }),
      open(sync, { label: 'x' }),
      open(sync, { label: 'x' }),
    ]);
    const other = await open(sync, { label: 'y' });
    const [atA, atB, atC, atOther] = [a, b, c, other].map((conduit) => collect(conduit as Conduit));
    a?.write(Buffer.from('from a'));
    expect((await atB?.waitFor(1))?.map(String)).toEqual(['from a']);
    expect((await atC?.waitFor(1))?.map(String)).toEqual(['from a']);
    expect(atA?.messages).toHaveLength(0);
    expect(atOther?.messages).toHaveLength(0);
  });

  it('buffers messages while alone and gives them to the first peer that joins', async () => {
    const sync = createSyncCluster(makeClusterContext({ protocol: 'Sync', query: '/IP/src_addr' }));
    clusters.push(sync);
    const first = await open(sync, { IP: { src_addr: 'peer' } });
    const atFirst = collect(first);
    first.write(Buffer.from('early 1'));
    first.write(Buffer.from('early 2'));
    const second = await open(sync, { IP: { src_addr: 'peer' } });
    const atSecond = collect(second);
    expect((await atSecond.waitFor(2)).map(String)).toEqual(['early 1', 'early 2']);
    second.write(Buffer.from('reply'));
    expect((await atFirst.waitFor(1)).map(String)).toEqual(['reply']);
    const third = await open(sync, { IP: { src_addr: 'peer' } });
    expect(collect(third).messages).toHaveLength(0);
    expect(sync.groupCount).toBe(1);
  });

  it('removes a member on end and forgets an empty group; close destroys members', async () => {
    const sync = createSyncCluster(makeClusterContext({ protocol: 'Sync', query: 'k' }));
    clusters.push(sync);
    const a = await open(sync, { k: 1 });
    const b = await open(sync, { k: 1 });
    const atA = collect(a);
    const atB = collect(b);
    a.end();
    await atA.waitForClose();
    b.write(Buffer.from('nobody hears'));
    expect(atA.messages).toHaveLength(0);
    const c = await open(sync, { k: 1 });
    const atC = collect(c);
    expect((await atC.waitFor(1)).map(String)).toEqual(['nobody hears']);
    await sync.close?.();
    expect(atB.closed).toBe(true);
    expect(atC.closed).toBe(true);
    expect(sync.groupCount).toBe(0);
  });
});

describe('Metric', () => {
  it('counts bytes and packets per session and removes the series when the session ends', async () => {
    const registry = new Registry();
    const metric = cluster({ protocol: 'Metric' }, { name: 'Metric', metrics: registry });
    const conduit = await open(metric, {}, 'metric');
    const out = collect(conduit);
    for (let i = 0; i < 3; i++) conduit.write(Buffer.from('ab'));
    expect(await out.waitFor(3)).toHaveLength(3);
    const text = await registry.metrics();
    expect(text).toContain('session_packet_counter_total{sessionName="metric",clusterName="Metric"} 3');
    expect(text).toContain('session_byte_counter_total{sessionName="metric",clusterName="Metric"} 6');
    conduit.end();
    await out.waitForClose();
    expect(await registry.metrics()).not.toContain('sessionName="metric"');
    expect(ProxyMetrics.forRegistry(registry)).toBeInstanceOf(ProxyMetrics);
  });

  it('removes the series when the conduit is destroyed', async () => {
    const registry = new Registry();
    const conduit = await open(cluster({ protocol: 'Metric' }, { metrics: registry }), {}, 'gone');
    conduit.write(Buffer.from('x'));
    expect(await registry.metrics()).toContain('sessionName="gone"');
    conduit.destroy();
    expect(await registry.metrics()).not.toContain('sessionName="gone"');
  });
});

describe('Prometheus', () => {
  it('reads the request to its end, then answers 200 with the exposition and ends', async () => {
    const registry = new Registry();
    ProxyMetrics.forRegistry(registry).listenerRequest('api', 'HTTP');
    const prometheus = await open(cluster({ protocol: 'Prometheus' }, { metrics: registry }));
    const out = collect(prometheus);
    prometheus.write(Buffer.from('test'));
    expect(out.messages).toHaveLength(0);
    prometheus.end();
    await out.waitForClose();
    expect(out.heads).toEqual([{ status: 200, headers: { 'content-type': registry.contentType } }]);
    expect(out.text()).toContain('# HELP');
    expect(out.text()).toContain('# TYPE');
    expect(out.text()).toContain('listener_requests_total{listenerName="api",protocol="HTTP"} 1');
    expect(out.ended).toBe(true);
  });

  it('closes with the error when the registry fails', async () => {
    const registry = new Registry();
    jest.spyOn(registry, 'metrics').mockRejectedValue(new Error('collector broke'));
    const prometheus = await open(cluster({ protocol: 'Prometheus' }, { metrics: registry }));
    const out = collect(prometheus);
    prometheus.end();
    expect((await out.waitForClose())?.message).toBe('collector broke');
    expect(out.heads).toHaveLength(0);
  });
});

describe('Stdio', () => {
  it('connects stdin and stdout without a TTY and leaves them open', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const stdio = createStdioCluster({ input, output });
    expect(stdio.retriable).toBe(false);
    const conduit = await stdio.connect(request());
    conduits.push(conduit);
    expect(conduit.kind).toBe('byte-stream');
    const out = collect(conduit);
    input.write('typed');
    expect(String((await out.waitFor(1))[0])).toBe('typed');
    conduit.write(Buffer.from('printed'));
    expect(String(output.read())).toBe('printed');
    conduit.end();
    expect(output.writableEnded).toBe(false);
    input.end();
    await out.waitForEnd();
    conduit.destroy();
    expect(input.listenerCount('data')).toBe(0);
    expect(output.listenerCount('drain')).toBe(0);
    expect(output.destroyed).toBe(false);
  });

  it('closes the conduit with the error of a failing input', async () => {
    const input = new PassThrough();
    const conduit = await createStdioCluster({ input, output: new PassThrough() }).connect(request());
    const out = collect(conduit);
    input.destroy(new Error('stdin broke'));
    expect((await out.waitForClose())?.message).toBe('stdin broke');
  });
});
