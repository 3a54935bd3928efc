/** Smallest piece a reader behind the tail reads at once (however many there are). */
export const MIN_PIECE_BYTES = 16 * 1024;
/** Largest piece: what one reader alone reads at once. */
export const MAX_PIECE_BYTES = 1024 * 1024;
/**
 * Storage reads of readers behind the tail under way at once. The upload's writes share
 * libuv's thread pool (4 threads) and the event loop with them: one read at a time (each
 * reader reading its next piece while its socket takes the last) keeps a 20 MB/s upload
 * at full rate under 1,000 catching-up followers (docs/benchmarks.md, ingest-under-readers).
 */
export const READS_AT_ONCE = 1;

/**
 * How readers behind the tail (followers catching up, request/reply reads) read storage,
 * so that ingest comes first and memory stays bounded:
 * - their reads run at most READS_AT_ONCE at a time, in arrival order — each reader has one
 *   read waiting at most, so they take turns (none starves, the slowest holds nobody);
 * - a reader reads one piece ahead while its socket takes the last (two at most);
 * - a piece is `budgetBytes` shared by every piece held (read or being read, not yet taken
 *   by its socket), between MIN_PIECE_BYTES and MAX_PIECE_BYTES: large reads when few
 *   catch up, small when many. Lagging readers thus hold about `budgetBytes` in total (at
 *   least MIN_PIECE_BYTES per piece), a stalled one two pieces.
 */
export class CatchUpReads {
  private running = 0;
  private readonly waiting: ((() => void) | undefined)[] = [];
  private head = 0;
  /** Pieces held (being read, or waiting for their socket to take them). */
  private holders = 0;

  constructor(private readonly budgetBytes: number) {}

  /** Bytes the next piece of a reader may have (called by the reader about to take one). */
  pieceBytes(): number {
    const share = Math.floor(this.budgetBytes / (this.holders + 1));
    return Math.max(MIN_PIECE_BYTES, Math.min(MAX_PIECE_BYTES, share));
  }

  /**
   * Pieces of `[start, end)` read with `read` each in its turn, sized when read; a piece
   * counts against the budget until the consumer asks for the next one (or stops).
   */
  async *pieces(start: number, end: number, read: (start: number, end: number) => Promise<Buffer>): AsyncGenerator<Buffer> {
    let next = start;
    let held = 0;
    const fetch = (): Promise<Buffer> | undefined => {
      if (next >= end) return undefined;
      const from = next;
      const to = Math.min(end, from + this.pieceBytes());
      next = to;
      held++;
      this.holders++;
      const reading = this.turn(() => read(from, to));
      reading.catch(() => undefined); // a piece read ahead may be abandoned
      return reading;
    };
    try {
      for (let current = fetch(); current; ) {
        const data = await current;
        current = fetch();
        yield data;
        held--;
        this.holders--;
      }
    } finally {
      // Stopped early (the connection closed) or failed: nothing is held any more.
      this.holders -= held;
    }
  }

  private async turn<T>(read: () => Promise<T>): Promise<T> {
    if (this.running >= READS_AT_ONCE) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await read();
    } finally {
      this.next();
    }
  }

  /** Hands the slot to the reader waiting longest (FIFO), or frees it. */
  private next(): void {
    const wake = this.waiting[this.head];
    if (wake) {
      this.waiting[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      wake();
    } else {
      this.running--;
    }
  }

  /** Pieces held now (for tests and metrics). */
  get held(): number {
    return this.holders;
  }
}
