/**
 * Flow control for sockets whose writes complete through a callback (node-unix-socket): counts
 * the writes handed to the kernel queue but not yet sent, asks the writer to pause above
 * `high`, and signals drain once the count falls back to `low`.
 */
export class WriteWindow {
  private inFlight = 0;
  private blocked = false;

  constructor(
    private readonly onDrain: () => void,
    private readonly high = 256,
    private readonly low = 64,
  ) {}

  get pending(): number {
    return this.inFlight;
  }

  /** Records one more write; false means the writer should wait for drain. */
  add(): boolean {
    if (++this.inFlight < this.high) return true;
    this.blocked = true;
    return false;
  }

  /** Records a completed write. */
  done(): void {
    this.inFlight--;
    if (this.blocked && this.inFlight <= this.low) {
      this.blocked = false;
      this.onDrain();
    }
  }
}
