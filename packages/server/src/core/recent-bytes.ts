/** The smallest ring: a small resource (a blob of a few KiB) costs this much, not `capacity`. */
const MIN_RING_BYTES = 4096;

/**
 * The last `capacity` bytes written to a resource, in a ring buffer. Followers at
 * the tail (nearly all of them) read what was just written: serving those reads from
 * here instead of opening the file once per follower per checkpoint is what keeps push
 * latency flat with a thousand followers. Bytes are copied in (cheap), so no socket
 * buffer is retained. The ring grows (doubling) with the bytes kept up to `capacity`:
 * thousands of tiny uploads (blobs) must not each allocate the whole window.
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
    const ring = this.ringFor(this.kept + chunk.length);
    const data = chunk.length > ring.length ? chunk.subarray(chunk.length - ring.length) : chunk;
    let at = (this.endOffset + chunk.length - data.length) % ring.length;
    let from = 0;
    while (from < data.length) {
      const n = Math.min(data.length - from, ring.length - at);
      data.copy(ring, at, from, from + n);
      from += n;
      at = (at + n) % ring.length;
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
    // Copies: the ring is overwritten as the upload goes on.
    const out = this.copyOut(this.ring, start, end);
    this.lastRead = { start, end, data: out };
    return out;
  }

  private copyOut(ring: Buffer, start: number, end: number): Buffer[] {
    const out: Buffer[] = [];
    let at = start % ring.length;
    let remaining = end - start;
    while (remaining > 0) {
      const n = Math.min(remaining, ring.length - at);
      out.push(Buffer.from(ring.subarray(at, at + n)));
      remaining -= n;
      at = (at + n) % ring.length;
    }
    return out;
  }

  /** The ring, grown (bytes kept moved over) if `wanted` bytes would not fit and it may still grow. */
  private ringFor(wanted: number): Buffer {
    const ring = this.ring;
    if (ring && (ring.length >= wanted || ring.length >= this.capacity)) return ring;
    let size = Math.max(MIN_RING_BYTES, ring?.length ?? 0);
    while (size < wanted && size < this.capacity) size *= 2;
    const grown = Buffer.allocUnsafeSlow(Math.min(size, this.capacity));
    if (ring && this.kept > 0) {
      let at = (this.endOffset - this.kept) % grown.length;
      for (const part of this.copyOut(ring, this.endOffset - this.kept, this.endOffset)) {
        const n = Math.min(part.length, grown.length - at);
        part.copy(grown, at, 0, n);
        if (n < part.length) part.copy(grown, 0, n);
        at = (at + part.length) % grown.length;
      }
    }
    this.ring = grown;
    return grown;
  }
}
