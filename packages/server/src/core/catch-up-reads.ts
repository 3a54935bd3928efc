/** Smallest piece a reader behind the tail reads at once (however many there are). */
export const MIN_PIECE_BYTES = 16 * 1024;
/** Largest piece: what one reader alone reads at once. */
export const MAX_PIECE_BYTES = 1024 * 1024;
/**
 * Storage reads of readers behind the tail under way at once. The upload's writes share
 * libuv's thread pool (4 threads) with them: two reads leave it room, however many readers
 * wait.
 */
const READS_AT_ONCE = 2;

/**
 * How readers behind the tail (followers catching up, request/reply reads) read storage,
 * so that ingest comes first and memory stays bounded:
 * - their reads run at most READS_AT_ONCE at a time, in arrival order — each reader has one
 *   read waiting at most, so they take turns (none starves, the slowest holds nobody);
 * - a piece is `budgetBytes` shared by every reader holding one (read, not yet taken by its
 *   socket), between MIN_PIECE_BYTES and MAX_PIECE_BYTES: large reads when few catch up,
 *   small when many. Lagging readers thus hold about `budgetBytes` in total (at least
 *   MIN_PIECE_BYTES each), a stalled one a single piece.
 */
export class CatchUpReads {
  private running = 0;
  private readonly waiting: ((() => void) | undefined)[] = [];
  private head = 0;
  /** Readers holding a piece (reading it, or waiting for their socket to take it). */
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
    for (let at = start; at < end; ) {
      const pieceEnd = Math.min(end, at + this.pieceBytes());
      this.holders++;
      try {
        yield await this.turn(() => read(at, pieceEnd));
      } finally {
        this.holders--;
      }
      at = pieceEnd;
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

  /** Readers holding a piece now (for tests and metrics). */
  get readers(): number {
    return this.holders;
  }
}
