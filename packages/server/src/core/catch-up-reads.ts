/** Smallest piece a reader behind the tail reads at once (however many there are). */
export const MIN_PIECE_BYTES = 16 * 1024;
/** Largest piece: what one reader alone reads at once. */
export const MAX_PIECE_BYTES = 1024 * 1024;
/**
 * Storage reads of readers behind the tail under way at once. The upload's writes share
 * libuv's thread pool (4 threads) and the event loop with them; 1,000 followers each
 * reading their own pieces had hundreds of reads queued ahead of the upload's writes. A
 * read's round trip is milliseconds on a busy loop, whatever its size, so one at a time
 * starved readers that earn small pieces first; four keep a 20 MB/s upload at full rate
 * under 1,000 and 10,000 catching-up followers (docs/benchmarks.md, ingest-under-readers).
 */
export const READS_AT_ONCE = 4;

const NOTHING = Buffer.alloc(0);

/**
 * A reader's earned piece size, kept across the ranges one connection reads (a Step
 * client asks 1 MiB at a time, a Spool follower is pushed 1 MiB at a time): without it,
 * every range would start again from the smallest piece.
 */
export class CatchUpPace {
  /** Largest piece the reader may read next: MIN_PIECE_BYTES at first, doubled each time its socket took one. */
  earned = MIN_PIECE_BYTES;
}

/**
 * How readers behind the tail (followers catching up, request/reply reads) read storage,
 * so that ingest comes first and memory stays bounded:
 * - their reads run at most READS_AT_ONCE at a time, in arrival order — each reader has one
 *   read waiting at most, so they take turns (none starves, the slowest holds nobody);
 * - a reader reads one piece ahead while its socket takes the last (two at most), if
 *   there is room: else it reads the next piece when asked for it;
 * - the bytes of every piece held (being read, or waiting for its socket to take it) stay
 *   within `budgetBytes`: a read waits its turn until there is room. A piece is the budget
 *   shared by the open readers, two pieces each, between MIN_PIECE_BYTES and
 *   MAX_PIECE_BYTES: large reads when few catch up, small when many; and a reader earns
 *   its size (`CatchUpPace`): its first piece is the smallest, each one its socket took
 *   doubles the next, so stalled readers hold little of the budget and those that read
 *   get it. Sizing by readers alone would not bound it: pieces sized while few read are
 *   still held when many more arrive (1,000 followers held 2.4× the budget). The bound
 *   holds whatever the order; a read never waits while nothing is held (a budget under
 *   one piece still moves).
 */
export class CatchUpReads {
  private running = 0;
  private readonly waiting: ((() => void) | undefined)[] = [];
  private head = 0;
  /** Readers open (`pieces` not finished). */
  private readers = 0;
  /** Pieces held, and their bytes. */
  private pieceCount = 0;
  private bytes = 0;
  /** Reads waiting for room in the budget (their turn came), woken by any release. */
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly budgetBytes: number) {}

  /** Bytes the next piece of a reader may have: the budget shared by the open readers (two pieces each). */
  pieceBytes(): number {
    const share = Math.floor(this.budgetBytes / (2 * Math.max(1, this.readers)));
    return Math.max(MIN_PIECE_BYTES, Math.min(MAX_PIECE_BYTES, share));
  }

  /**
   * Pieces of `[start, end)` read with `read` each in its turn, sized when read; a piece
   * counts against the budget until the consumer asks for the next one (or stops).
   */
  async *pieces(
    start: number,
    end: number,
    read: (start: number, end: number) => Promise<Buffer>,
    pace = new CatchUpPace(),
  ): AsyncGenerator<Buffer> {
    this.readers++;
    let next = start;
    /** Sizes of the pieces this reader holds, oldest first. */
    const held: number[] = [];
    let stopped = false;
    /**
     * Reads the next piece in its turn; called again only once the previous one was read,
     * so `next` is current. A read ahead (this reader still holds a piece) that finds no
     * room gives its turn up (undefined) and is read when asked for: a stalled reader never
     * holds the turn while the others wait for the room it holds.
     */
    const fetch = (ahead: boolean): Promise<Buffer | undefined> | undefined => {
      if (next >= end) return undefined;
      const reading = this.turn(async () => {
        // The reader stopped while this read waited its turn: nothing to read or hold.
        if (stopped) return NOTHING;
        const wanted = Math.min(end - next, pace.earned);
        const size = ahead ? this.tryReserve(wanted) : await this.reserve(wanted);
        if (size === undefined) return undefined;
        if (stopped) {
          this.release(size);
          return NOTHING;
        }
        held.push(size);
        const from = next;
        next += size;
        return read(from, from + size);
      });
      reading.catch(() => undefined); // a piece read ahead may be abandoned
      return reading;
    };
    try {
      for (let current = fetch(false); current; ) {
        const data = await current;
        if (data === undefined) {
          current = fetch(false);
          continue;
        }
        current = fetch(true);
        yield data;
        this.release(held.shift() as number);
        pace.earned = Math.min(MAX_PIECE_BYTES, pace.earned * 2);
      }
    } finally {
      // Stopped early (the connection closed) or failed: nothing is held any more. A read
      // still under way is released here; its reservation was counted in `held` already.
      stopped = true;
      for (const size of held.splice(0)) this.release(size);
      this.readers--;
    }
  }

  /** Counts a piece of up to `wanted` bytes against the budget, once there is room; its size. */
  private async reserve(wanted: number): Promise<number> {
    for (;;) {
      const size = this.tryReserve(wanted);
      if (size !== undefined) return size;
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /** `reserve` if there is room now, else undefined. */
  private tryReserve(wanted: number): number | undefined {
    const size = Math.min(wanted, this.pieceBytes());
    if (this.bytes > 0 && this.bytes + size > this.budgetBytes) return undefined;
    this.bytes += size;
    this.pieceCount++;
    return size;
  }

  private release(size: number): void {
    this.bytes -= size;
    this.pieceCount--;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
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
    return this.pieceCount;
  }

  /** Bytes of the pieces held now: at most the budget (or one piece, if the budget is smaller). */
  get heldBytes(): number {
    return this.bytes;
  }
}
