/**
 * The newest bytes sent of a source that cannot be read again (a pipe, a generator): a
 * resume starts at the server's durable offset, which may be behind what was sent, and
 * those bytes are served from here. Bounded: bytes older than the window are dropped, and
 * a resume before them is impossible (the caller says so).
 */
export class ReplayWindow {
  private chunks: Buffer[] = [];
  private held = 0;
  /** Offset of the first byte held. */
  private start = 0;

  constructor(private readonly maxBytes: number) {}

  /** Offset just past the newest byte recorded. */
  get end(): number {
    return this.start + this.held;
  }

  /** Records the next bytes sent (the window keeps a reference: do not modify them). */
  record(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.held > this.maxBytes) {
      const first = this.chunks[0] as Buffer;
      const excess = this.held - this.maxBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.held -= first.length;
        this.start += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.held -= excess;
        this.start += excess;
      }
    }
  }

  /** The bytes from `offset` to the end, if the window still holds them all; undefined otherwise. */
  from(offset: number): Buffer[] | undefined {
    if (offset < this.start || offset > this.end) return undefined;
    const out: Buffer[] = [];
    let skip = offset - this.start;
    for (const chunk of this.chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      out.push(skip > 0 ? chunk.subarray(skip) : chunk);
      skip = 0;
    }
    return out;
  }
}
