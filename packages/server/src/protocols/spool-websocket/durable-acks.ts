/**
 * Tells an uploader its durable offset as it advances, one message at a time and only
 * the newest: memory stays O(1) whatever the checkpoint rate or how slowly the uploader
 * reads its socket (an uploader that never reads just misses intermediate offsets).
 */
export class DurableAcks {
  private sent: number;
  private pending: number | undefined;
  private sending = false;
  private stopped = false;

  constructor(
    private readonly send: (offset: number) => Promise<void>,
    /** The offset the uploader already knows (the one in `ready`). */
    known: number,
  ) {
    this.sent = known;
  }

  /** A checkpoint made `offset` durable; sent unless an equal or newer one was. */
  offer(offset: number): void {
    if (this.stopped || offset <= (this.pending ?? this.sent)) return;
    this.pending = offset;
    if (!this.sending) void this.flush();
  }

  stop(): void {
    this.stopped = true;
    this.pending = undefined;
  }

  private async flush(): Promise<void> {
    this.sending = true;
    try {
      while (this.pending !== undefined && !this.stopped) {
        const offset = this.pending;
        this.pending = undefined;
        await this.send(offset);
        this.sent = offset;
      }
    } catch {
      // The connection closed: nobody is left to tell.
      this.stop();
    } finally {
      this.sending = false;
    }
  }
}
