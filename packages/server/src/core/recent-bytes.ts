/**
 * The last `capacity` bytes written to a resource, in a fixed ring buffer. Followers at
 * the tail (nearly all of them) read what was just written: serving those reads from
 * here instead of opening the file once per follower per checkpoint is what keeps push
 * latency flat with a thousand followers. Bytes are copied in (cheap), so no socket
 * buffer is retained.
 */
export class RecentBytes {
  private ring: Buffer | undefined;
  /** Offset (in the resource) one past the last byte kept. */
  private endOffset: number;
  private kept = 0;
  /** The last range handed out: followers at the tail all ask for the same one, so they share one copy. */
  private lastRead: { start: number; end: number; data: Buffer[] } | undefined;

  constructor(
    private readonly capacity: number,
    startOffset: number,
  ) {
    this.endOffset = startOffset;
  }

  /** Appends bytes that follow the ones kept. */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.ring ??= Buffer.allocUnsafeSlow(this.capacity);
    const data = chunk.length > this.capacity ? chunk.subarray(chunk.length - this.capacity) : chunk;
    let at = (this.endOffset + chunk.length - data.length) % this.capacity;
    let from = 0;
    while (from < data.length) {
      const n = Math.min(data.length - from, this.capacity - at);
      data.copy(this.ring, at, from, from + n);
      from += n;
      at = (at + n) % this.capacity;
    }
    this.endOffset += chunk.length;
    this.kept = Math.min(this.capacity, this.kept + chunk.length);
  }

  /** Appends a batch; only its last `capacity` bytes can stay, so only those are copied. */
  appendAll(chunks: readonly Buffer[]): void {
    let skip = -this.capacity;
    for (const chunk of chunks) skip += chunk.length;
    if (skip > 0) this.kept = 0; // everything kept before falls out
    for (const chunk of chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        this.endOffset += chunk.length;
        continue;
      }
      if (skip > 0) {
        this.endOffset += skip;
        this.append(chunk.subarray(skip));
        skip = 0;
      } else {
        this.append(chunk);
      }
    }
  }

  /** Copies of bytes `[start, end)` if all of them are kept, else undefined. Never modified later: safe to share. */
  read(start: number, end: number): Buffer[] | undefined {
    if (!this.ring || start < this.endOffset - this.kept || end > this.endOffset || start > end) return undefined;
    const last = this.lastRead;
    if (last && last.start === start && last.end === end) return last.data;
    const out: Buffer[] = [];
    let at = start % this.capacity;
    let remaining = end - start;
    while (remaining > 0) {
      const n = Math.min(remaining, this.capacity - at);
      // A copy: the ring is overwritten as the upload goes on.
      out.push(Buffer.from(this.ring.subarray(at, at + n)));
      remaining -= n;
      at = (at + n) % this.capacity;
    }
    this.lastRead = { start, end, data: out };
    return out;
  }
}
