import { describe, expect, it } from '@jest/globals';
import { NotFoundError, BadRequestError } from '../src/errors';
import {
  ConsistentHashLoadBalancer,
  LeastConnectionsLoadBalancer,
  createLoadBalancer,
  type LoadBalancer,
} from '../src/loadbalancer/index';
import type { EndpointTarget } from '../src/transport/types';

const endpoint = (name: string, address = `10.0.0.${name.length}`, weight = 1): EndpointTarget => ({
  name,
  spec: { address, port: 9000 },
  weight,
});

const keyed = (key: number | string) => ({ IP: { src_addr: String(key) } });

function countPicks(lb: LoadBalancer, keys: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < keys; i++) {
    const name = lb.pick(keyed(i)).name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

describe('createLoadBalancer', () => {
  it('defaults to Trivial, or to the given default policy', () => {
    expect(createLoadBalancer(undefined).toJSON()).toEqual({ policy: 'Trivial' });
    expect(createLoadBalancer(undefined, 'None').toJSON()).toEqual({ policy: 'None' });
    expect(createLoadBalancer({ policy: 'RoundRobin' }).policy).toBe('RoundRobin');
    expect(createLoadBalancer({ policy: 'LeastConnections' }).policy).toBe('LeastConnections');
  });

  it('rejects an unknown policy with a descriptive error', () => {
    expect(() => createLoadBalancer({ policy: 'Magic' as 'Trivial' })).toThrow(BadRequestError);
    expect(() => createLoadBalancer({ policy: 'Magic' as 'Trivial' })).toThrow('"Magic" is not implemented');
  });

  it.each(['Trivial', 'None', 'ConsistentHash', 'HashRing', 'RoundRobin', 'LeastConnections'] as const)(
    '%s throws NotFoundError without endpoints',
    (policy) => {
      const lb = createLoadBalancer({ policy });
      lb.update([]);
      expect(() => lb.pick({})).toThrow(NotFoundError);
      expect(() => lb.pick({})).toThrow('No endpoint in cluster');
    },
  );
});

describe('Trivial', () => {
  it('picks the first endpoint, or the next when the first just failed', () => {
    const lb = createLoadBalancer({ policy: 'Trivial' });
    const es = [endpoint('a'), endpoint('b'), endpoint('c')];
    lb.update(es);
    expect(lb.pick({})).toBe(es[0]);
    expect(lb.pick({}, new Set(['a']))).toBe(es[1]);
    expect(lb.pick({}, new Set(['a', 'b', 'c']))).toBe(es[0]);
  });
});

describe('RoundRobin', () => {
  it('cycles through the endpoints and skips excluded ones', () => {
    const lb = createLoadBalancer({ policy: 'RoundRobin' });
    lb.update([endpoint('a'), endpoint('b'), endpoint('c')]);
    expect([1, 2, 3, 4].map(() => lb.pick({}).name)).toEqual(['a', 'b', 'c', 'a']);
    expect(lb.pick({}, new Set(['b'])).name).toBe('c');
    expect(lb.pick({}).name).toBe('a');
  });

  it('restarts when the endpoint list shrinks below its position', () => {
    const lb = createLoadBalancer({ policy: 'RoundRobin' });
    lb.update([endpoint('a'), endpoint('b'), endpoint('c')]);
    lb.pick({});
    lb.pick({});
    lb.update([endpoint('a'), endpoint('b')]);
    expect(lb.pick({}).name).toBe('a');
  });
});

describe('LeastConnections', () => {
  it('picks the endpoint with the fewest connections relative to weight', () => {
    const lb = createLoadBalancer({ policy: 'LeastConnections' }) as LeastConnectionsLoadBalancer;
    lb.update([endpoint('a'), endpoint('b', 'x', 2)]);
    expect(lb.pick({}).name).toBe('a');
    lb.acquired('a');
    expect(lb.pick({}).name).toBe('b');
    lb.acquired('b');
    // a: 1/1, b: 1/2
    expect(lb.pick({}).name).toBe('b');
    lb.acquired('b');
    lb.acquired('b');
    expect(lb.pick({}).name).toBe('a');
    expect(lb.pick({}, new Set(['a'])).name).toBe('b');
    lb.released('b');
    lb.released('b');
    lb.released('b');
    lb.released('b');
    expect(lb.connections('b')).toBe(0);
    expect(lb.pick({}).name).toBe('b');
  });

  it('forgets counts of removed endpoints and falls back when all are excluded', () => {
    const lb = createLoadBalancer({ policy: 'LeastConnections' }) as LeastConnectionsLoadBalancer;
    lb.update([endpoint('a'), endpoint('b')]);
    lb.acquired('b');
    lb.update([endpoint('a')]);
    expect(lb.connections('b')).toBe(0);
    expect(lb.pick({}, new Set(['a'])).name).toBe('a');
  });
});

describe('ConsistentHash / HashRing', () => {
  const four = () => [endpoint('e1'), endpoint('e2'), endpoint('e3'), endpoint('e4')];

  it('reports its policy as configured, and <RANDOM> without a key', () => {
    expect(createLoadBalancer({ policy: 'HashRing', key: '/key' }).toJSON()).toEqual({
      policy: 'HashRing',
      key: '/key',
    });
    expect(createLoadBalancer({ policy: 'ConsistentHash' }).toJSON()).toEqual({
      policy: 'ConsistentHash',
      key: '<RANDOM>',
    });
  });

  it('sends the same key to the same endpoint, whatever the endpoint order', () => {
    const a = createLoadBalancer({ policy: 'ConsistentHash', key: '/IP/src_addr' });
    const b = createLoadBalancer({ policy: 'ConsistentHash', key: 'IP/src_addr' });
    a.update(four());
    b.update(four().reverse());
    for (let i = 0; i < 500; i++) {
      expect(a.pick(keyed(i)).name).toBe(a.pick(keyed(i)).name);
      expect(b.pick(keyed(i)).name).toBe(a.pick(keyed(i)).name);
    }
  });

  it('moves about a fifth of the keys when a fifth endpoint joins four', () => {
    const lb = createLoadBalancer({ policy: 'ConsistentHash', key: '/IP/src_addr' });
    lb.update(four());
    const before = Array.from({ length: 10_000 }, (_, i) => lb.pick(keyed(i)).name);
    lb.update([...four(), endpoint('e5')]);
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const now = lb.pick(keyed(i)).name;
      if (now !== before[i]) {
        moved++;
        // A key only ever moves to the new endpoint.
        expect(now).toBe('e5');
      }
    }
    expect(moved / 10_000).toBeGreaterThan(0.1);
    expect(moved / 10_000).toBeLessThan(0.3);
  });

  it('spreads keys evenly over equal endpoints', () => {
    const lb = createLoadBalancer({ policy: 'ConsistentHash', key: '/IP/src_addr' });
    lb.update(four());
    const counts = countPicks(lb, 10_000);
    for (const name of ['e1', 'e2', 'e3', 'e4']) {
      expect(counts.get(name) ?? 0).toBeGreaterThan(2500 * 0.8);
      expect(counts.get(name) ?? 0).toBeLessThan(2500 * 1.2);
    }
  });

  it('skews the distribution by weight', () => {
    const lb = createLoadBalancer({ policy: 'ConsistentHash', key: '/IP/src_addr' });
    lb.update([endpoint('light', 'a', 1), endpoint('heavy', 'b', 3)]);
    const counts = countPicks(lb, 10_000);
    expect(counts.get('light') ?? 0).toBeGreaterThan(2500 * 0.8);
    expect(counts.get('light') ?? 0).toBeLessThan(2500 * 1.2);
    expect(counts.get('heavy') ?? 0).toBeGreaterThan(7500 * 0.8);
    expect(counts.get('heavy') ?? 0).toBeLessThan(7500 * 1.2);
  });

  it('keeps endpoints that share an address apart (keyed by name)', () => {
    const lb = createLoadBalancer({ policy: 'HashRing', key: '/IP/src_addr' });
    lb.update([endpoint('twin-a', '10.1.1.1'), endpoint('twin-b', '10.1.1.1')]);
    const counts = countPicks(lb, 2000);
    expect(counts.get('twin-a') ?? 0).toBeGreaterThan(600);
    expect(counts.get('twin-b') ?? 0).toBeGreaterThan(600);
  });

  it('moves an excluded key to another endpoint, and back to it when all are excluded', () => {
    const lb = createLoadBalancer({ policy: 'ConsistentHash', key: '/IP/src_addr' });
    lb.update(four());
    const usual = lb.pick(keyed('k')).name;
    const other = lb.pick(keyed('k'), new Set([usual])).name;
    expect(other).not.toBe(usual);
    expect(lb.pick(keyed('k'), new Set([usual, other])).name).not.toMatch(
      new RegExp(`^(${usual}|${other})$`),
    );
    expect(lb.pick(keyed('k'), new Set(['e1', 'e2', 'e3', 'e4'])).name).toBe(usual);
  });

  it('hashes non-string keys and picks at random (weighted) without a key value', () => {
    const lb = createLoadBalancer({ policy: 'ConsistentHash', key: '/IP' });
    lb.update([endpoint('light', 'a', 1), endpoint('heavy', 'b', 4)]);
    const object = { IP: { src_addr: '1.2.3.4' } };
    expect(lb.pick(object).name).toBe(lb.pick({ IP: { src_addr: '1.2.3.4' } }).name);
    const counts = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const name = lb.pick({ other: i }).name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    expect(counts.get('light') ?? 0).toBeGreaterThan(1000 * 0.8);
    expect(counts.get('light') ?? 0).toBeLessThan(1000 * 1.2);
    expect(counts.get('heavy') ?? 0).toBeGreaterThan(4000 * 0.8);
  });

  it('picks at random without a key, avoiding an excluded endpoint', () => {
    const lb = new ConsistentHashLoadBalancer('ConsistentHash');
    lb.update([endpoint('a'), endpoint('b')]);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(lb.pick({}).name);
    expect(seen).toEqual(new Set(['a', 'b']));
    for (let i = 0; i < 50; i++) expect(lb.pick({}, new Set(['a'])).name).toBe('b');
  });
});
