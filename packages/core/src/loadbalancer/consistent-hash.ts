import { createHash, randomInt } from 'node:crypto';
import { compilePath } from '../rules/path';
import type { EndpointTarget, SessionMetadata } from '../transport/types';
import { assertEndpoints, firstAllowed } from './simple';
import type { LoadBalancer } from './types';

/** Points on the ring per unit of weight: enough for an even spread with a handful of endpoints. */
export const VIRTUAL_NODES_PER_WEIGHT = 160;
/** What `toJSON` shows for a ring without a key (sessions are spread at random). */
export const RANDOM_KEY = '<RANDOM>';

/** The first 32 bits of the md5 of `text`: well spread, and cheap enough once per session. */
export function hash32(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0);
}

/**
 * `ConsistentHash` (alias `HashRing`): hashes a metadata value (the `key` path) onto a ring of
 * virtual nodes, so a session with the same key always reaches the same endpoint, and adding one
 * endpoint to n moves only about 1/(n+1) of the keys.
 *
 * Ring points are derived from the endpoint *name* (not its address, unlike the anchor), so
 * endpoints that share an address each keep their own share. Each endpoint gets
 * `weight × VIRTUAL_NODES_PER_WEIGHT` points. Stickiness is not bit-compatible with the anchor's
 * hashring package; only the consistency properties are kept.
 *
 * Without a key, or when the key is absent from a session's metadata, the endpoint is drawn at
 * random, proportionally to the weights. `crypto.randomInt` is used for convenience; the draw does
 * not need to be unpredictable.
 */
export class ConsistentHashLoadBalancer implements LoadBalancer {
  private endpoints: readonly EndpointTarget[] = [];
  private points = new Uint32Array(0);
  /** Index into `endpoints` of the owner of each point. */
  private owners = new Uint32Array(0);
  private totalWeight = 0;
  private readonly readKey: ((metadata: unknown) => unknown) | undefined;

  constructor(
    readonly policy: 'ConsistentHash' | 'HashRing' = 'ConsistentHash',
    readonly key?: string,
  ) {
    this.readKey = key !== undefined ? compilePath(key) : undefined;
  }

  update(endpoints: readonly EndpointTarget[]): void {
    this.endpoints = [...endpoints];
    const entries: { point: number; owner: number }[] = [];
    let totalWeight = 0;
    this.endpoints.forEach((endpoint, owner) => {
      const weight = Math.max(1, Math.floor(endpoint.weight));
      totalWeight += weight;
      const count = weight * VIRTUAL_NODES_PER_WEIGHT;
      for (let i = 0; i < count; i++) entries.push({ point: hash32(`${endpoint.name}#${i}`), owner });
    });
    // Ties (vanishingly rare) are broken by name so the ring does not depend on endpoint order.
    entries.sort(
      (a, b) =>
        a.point - b.point ||
        (this.endpoints[a.owner] as EndpointTarget).name.localeCompare(
          (this.endpoints[b.owner] as EndpointTarget).name,
        ),
    );
    this.points = Uint32Array.from(entries, (e) => e.point);
    this.owners = Uint32Array.from(entries, (e) => e.owner);
    this.totalWeight = totalWeight;
  }

  pick(metadata: SessionMetadata, exclude?: ReadonlySet<string>): EndpointTarget {
    assertEndpoints(this.endpoints);
    const value = this.readKey?.(metadata);
    if (value === undefined || value === null) return this.pickRandom(exclude);
    return this.pickByHash(hash32(keyString(value)), exclude);
  }

  /** The endpoint owning the first point at or after `hash`, skipping excluded endpoints. */
  private pickByHash(hash: number, exclude: ReadonlySet<string> | undefined): EndpointTarget {
    const points = this.points;
    let low = 0;
    let high = points.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((points[mid] as number) < hash) low = mid + 1;
      else high = mid;
    }
    const start = low === points.length ? 0 : low;
    const first = this.endpoints[this.owners[start] as number] as EndpointTarget;
    if (exclude === undefined || exclude.size === 0 || !exclude.has(first.name)) return first;
    for (let i = 1; i < points.length; i++) {
      const candidate = this.endpoints[this.owners[(start + i) % points.length] as number] as EndpointTarget;
      if (!exclude.has(candidate.name)) return candidate;
    }
    return first;
  }

  private pickRandom(exclude: ReadonlySet<string> | undefined): EndpointTarget {
    let draw = randomInt(this.totalWeight);
    for (let i = 0; i < this.endpoints.length; i++) {
      const endpoint = this.endpoints[i] as EndpointTarget;
      draw -= Math.max(1, Math.floor(endpoint.weight));
      if (draw < 0) return firstAllowed(this.endpoints, i, exclude);
    }
    return firstAllowed(this.endpoints, 0, exclude);
  }

  toJSON(): { policy: string; key: string } {
    return { policy: this.policy, key: this.key ?? RANDOM_KEY };
  }
}

function keyString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value) ?? '';
  return String(value);
}
