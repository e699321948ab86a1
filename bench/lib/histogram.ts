/**
 * A fixed-resolution latency histogram: 100 ns buckets up to 100 ms, one overflow bucket above.
 * Recording is an increment in a typed array, so it costs the load generator next to nothing.
 */
const BUCKET_NS = 100;
const BUCKETS = 1_000_000;

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS + 1);
  private total = 0;
  private sumNs = 0;
  private maxNs = 0;

  get count(): number {
    return this.total;
  }

  recordNs(ns: number): void {
    const bucket = ns <= 0 ? 0 : Math.min(BUCKETS, Math.floor(ns / BUCKET_NS));
    this.counts[bucket]!++;
    this.total++;
    this.sumNs += ns;
    if (ns > this.maxNs) this.maxNs = ns;
  }

  /** The smallest recorded value (bucket midpoint, µs) at or below which `fraction` of the samples lie. */
  percentileUs(fraction: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.total));
    let seen = 0;
    for (let bucket = 0; bucket <= BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) {
        if (bucket === BUCKETS) return this.maxNs / 1000;
        return ((bucket + 0.5) * BUCKET_NS) / 1000;
      }
    }
    return this.maxNs / 1000;
  }

  summaryUs(): { p50: number; p90: number; p99: number; max: number; mean: number } {
    return {
      p50: this.percentileUs(0.5),
      p90: this.percentileUs(0.9),
      p99: this.percentileUs(0.99),
      max: this.maxNs / 1000,
      mean: this.total === 0 ? 0 : this.sumNs / this.total / 1000,
    };
  }
}
