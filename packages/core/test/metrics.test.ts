import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { L7mpError } from '../src/errors';
import { ProxyMetrics } from '../src/metrics/proxy-metrics';
import { TrafficStats } from '../src/metrics/stats';

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('ProxyMetrics', () => {
  it('exposes the anchor request counters with their labels and HELP', async () => {
    const registry = new Registry();
    const metrics = new ProxyMetrics(registry);
    metrics.listenerAdded('udp-in', 'UDP', new TrafficStats());
    metrics.listenerRequest('udp-in', 'UDP');
    metrics.listenerRequest('udp-in', 'UDP');
    metrics.listenerRequest('inner-transport-listener', 'UDP');
    metrics.clusterRequest('ws-out', 'WebSocket');
    const text = await registry.metrics();
    expect(text).toContain('# HELP listener_requests_total Total number of requests');
    expect(text).toContain('# TYPE listener_requests_total counter');
    expect(sample(text, 'listener_requests_total', 'listenerName="udp-in",protocol="UDP"')).toBe(2);
    expect(
      sample(text, 'listener_requests_total', 'listenerName="inner-transport-listener",protocol="UDP"'),
    ).toBe(1);
    expect(sample(text, 'cluster_requests_total', 'clusterName="ws-out",protocol="WebSocket"')).toBe(1);
  });

  it('reads traffic of listeners, clusters and endpoints at scrape time', async () => {
    const registry = new Registry();
    const metrics = new ProxyMetrics(registry);
    const listener = new TrafficStats();
    const cluster = new TrafficStats();
    const endpoint = new TrafficStats();
    metrics.listenerAdded('l', 'UDP', listener);
    metrics.clusterAdded('c', 'UDP', cluster);
    metrics.endpointAdded('c', 'e', endpoint);
    listener.bytesIn += 100;
    listener.datagramsIn += 2;
    cluster.bytesOut += 100;
    cluster.datagramsOut += 2;
    endpoint.bytesIn += 7;
    endpoint.datagramsOut += 3;
    let text = await registry.metrics();
    expect(sample(text, 'l7mp_listener_bytes_in_total', 'listenerName="l"')).toBe(100);
    expect(sample(text, 'l7mp_listener_datagrams_in_total', 'listenerName="l"')).toBe(2);
    expect(sample(text, 'l7mp_listener_bytes_out_total', 'listenerName="l"')).toBe(0);
    expect(sample(text, 'l7mp_cluster_bytes_out_total', 'clusterName="c"')).toBe(100);
    expect(sample(text, 'l7mp_cluster_datagrams_out_total', 'clusterName="c"')).toBe(2);
    expect(sample(text, 'l7mp_endpoint_bytes_in_total', 'clusterName="c",endpointName="e"')).toBe(7);
    expect(sample(text, 'l7mp_endpoint_datagrams_out_total', 'clusterName="c",endpointName="e"')).toBe(3);

    listener.bytesIn += 50;
    text = await registry.metrics();
    expect(sample(text, 'l7mp_listener_bytes_in_total', 'listenerName="l"')).toBe(150);
  });

  it('counts sessions, connect failures and retries', async () => {
    const registry = new Registry();
    const metrics = new ProxyMetrics(registry);
    metrics.listenerAdded('l', 'TCP', new TrafficStats());
    metrics.clusterAdded('c', 'TCP', new TrafficStats());
    metrics.sessionStarted('l');
    metrics.sessionStarted('l');
    metrics.sessionEnded('l');
    metrics.sessionEnded('l');
    metrics.sessionEnded('l');
    metrics.sessionStarted('unknown-listener');
    metrics.connectFailure('c');
    metrics.connectFailure('c');
    metrics.retry('c');
    metrics.connectFailure('unknown-cluster');
    const text = await registry.metrics();
    expect(sample(text, 'l7mp_listener_sessions_total', 'listenerName="l"')).toBe(2);
    expect(sample(text, 'l7mp_listener_sessions_active', 'listenerName="l"')).toBe(0);
    expect(sample(text, 'l7mp_cluster_connect_failures_total', 'clusterName="c"')).toBe(2);
    expect(sample(text, 'l7mp_cluster_retries_total', 'clusterName="c"')).toBe(1);
    expect(text).not.toContain('unknown-');
  });

  it('removes the series of removed objects and ended sessions', async () => {
    const registry = new Registry();
    const metrics = new ProxyMetrics(registry);
    metrics.listenerAdded('l', 'UDP', new TrafficStats());
    metrics.clusterAdded('c', 'UDP', new TrafficStats());
    metrics.endpointAdded('c', 'e1', new TrafficStats());
    metrics.endpointAdded('c', 'e2', new TrafficStats());
    metrics.clusterAdded('d', 'UDP', new TrafficStats());
    metrics.endpointAdded('d', 'e1', new TrafficStats());
    const stats = new TrafficStats();
    stats.bytesIn = 6;
    stats.datagramsIn = 3;
    metrics.sessionTraffic('s1', 'Metric', stats);
    metrics.sessionTraffic('s1', 'Metric2', stats);
    metrics.sessionTraffic('s2', 'Metric', stats);
    let text = await registry.metrics();
    expect(sample(text, 'session_byte_counter_total', 'sessionName="s1",clusterName="Metric"')).toBe(6);
    expect(sample(text, 'session_packet_counter_total', 'sessionName="s1",clusterName="Metric"')).toBe(3);
    expect(text).toContain(
      '# HELP session_byte_counter_total Total number of bytes that flows trough the cluster',
    );

    metrics.listenerRemoved('l');
    metrics.endpointRemoved('c', 'e2');
    metrics.clusterRemoved('d');
    metrics.sessionRemoved('s1', 'Metric');
    metrics.sessionRemoved('s2');
    text = await registry.metrics();
    expect(text).not.toContain('listenerName="l"');
    expect(text).not.toContain('endpointName="e2"');
    expect(text).not.toContain('clusterName="d"');
    expect(sample(text, 'l7mp_endpoint_bytes_in_total', 'clusterName="c",endpointName="e1"')).toBe(0);
    expect(
      sample(text, 'session_byte_counter_total', 'sessionName="s1",clusterName="Metric"'),
    ).toBeUndefined();
    expect(sample(text, 'session_byte_counter_total', 'sessionName="s1",clusterName="Metric2"')).toBe(6);
    expect(text).not.toContain('sessionName="s2"');
    metrics.sessionRemoved('s1', 'Metric2');
    metrics.sessionRemoved('s1', 'Metric2');
    expect(await registry.metrics()).not.toContain('sessionName=');
  });

  it('has one instance per registry', () => {
    const registry = new Registry();
    const first = ProxyMetrics.forRegistry(registry);
    expect(ProxyMetrics.forRegistry(registry)).toBe(first);
    expect(() => new ProxyMetrics(registry)).toThrow(L7mpError);
    expect(() => new ProxyMetrics(registry)).toThrow('already has the proxy metrics');
  });
});
