/**
 * Plain counters that the data path increments (a field add per message, no label hashing);
 * the Prometheus collectors read them at scrape time.
 */
export class TrafficStats {
  /** Bytes and messages received from the peer of this object. */
  bytesIn = 0;
  datagramsIn = 0;
  /** Bytes and messages sent to the peer of this object. */
  bytesOut = 0;
  datagramsOut = 0;

  add(other: TrafficStats): void {
    this.bytesIn += other.bytesIn;
    this.datagramsIn += other.datagramsIn;
    this.bytesOut += other.bytesOut;
    this.datagramsOut += other.datagramsOut;
  }
}
