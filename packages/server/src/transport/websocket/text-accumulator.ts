/**
 * Collects the payload pieces of one text message. A message that arrives as a single
 * piece (the usual case) is kept as that slice, uncopied; otherwise pieces are copied
 * into one growing buffer, so a message split into many tiny frames costs no more
 * memory than its size.
 */
export class TextAccumulator {
  private readonly maxBytes: number;
  private buffer: Buffer | undefined;
  private length = 0;
  /** The buffer is ours (not a slice of socket input) and may be written to. */
  private owned = false;

  /** `maxBytes`: the largest message the parser lets through (bounds growth). */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /**
   * `announcedBytes`: the message's length so far as its frame headers announced it (what
   * the server budget reserved); the buffer never grows past it.
   */
  append(piece: Buffer, announcedBytes = this.maxBytes): void {
    if (this.buffer === undefined) {
      this.buffer = piece;
      this.length = piece.length;
      return;
    }
    const needed = this.length + piece.length;
    if (!this.owned || this.buffer.length < needed) {
      const capacity = Math.max(needed, Math.min(announcedBytes, this.maxBytes, Math.max(2 * this.buffer.length, 1024)));
      // Its own memory, never a slice of Node's shared pool (64 KiB from Node 24): a held message keeps no pool alive.
      const grown = Buffer.allocUnsafeSlow(capacity);
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
      this.owned = true;
    }
    piece.copy(this.buffer, this.length);
    this.length = needed;
  }

  /** The bytes collected so far; resets for the next message. */
  take(): Buffer {
    const bytes = this.buffer === undefined ? Buffer.alloc(0) : this.buffer.subarray(0, this.length);
    this.reset();
    return bytes;
  }

  reset(): void {
    this.buffer = undefined;
    this.length = 0;
    this.owned = false;
  }
}
