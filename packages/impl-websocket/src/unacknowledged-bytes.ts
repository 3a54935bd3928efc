/**
 * The bytes an uploader has read from its source but the server has not yet made durable:
 * the range [start, end) of the upload, kept as the source's own chunks (no copies) so
 * they can be sent again after a reconnect from whatever offset the server resumes at.
 */
export class UnacknowledgedBytes {
  readonly #chunks: Buffer[] = [];
  /** Offset of the first byte of #chunks[0]. */
  #start: number;
  #end: number;

  constructor(start = 0) {
    this.#start = start;
    this.#end = start;
  }

  /** First byte not yet durable. */
  get start(): number {
    return this.#start;
  }

  /** Offset after the last byte read from the source. */
  get end(): number {
    return this.#end;
  }

  /** Bytes held. */
  get size(): number {
    return this.#end - this.#start;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#end += chunk.length;
  }

  /** Forgets bytes before `offset` (they are durable). Offsets outside [start, end] are refused. */
  releaseUpTo(offset: number): void {
    if (offset < this.#start) return;
    if (offset > this.#end) throw new RangeError(`Cannot release up to ${offset}: only ${this.#end} bytes were read`);
    while (this.#start < offset) {
      const first = this.#chunks[0] as Buffer;
      const drop = offset - this.#start;
      if (drop >= first.length) {
        this.#chunks.shift();
        this.#start += first.length;
      } else {
        this.#chunks[0] = first.subarray(drop);
        this.#start = offset;
      }
    }
  }

  /**
   * A view of the held bytes at `offset`, at most `maxBytes` long (within one source
   * chunk), or undefined at the end. Looked up per call, so releases in between are safe.
   */
  sliceAt(offset: number, maxBytes: number): Buffer | undefined {
    if (offset < this.#start || offset > this.#end) {
      throw new RangeError(`Offset ${offset} is outside the held bytes [${this.#start}, ${this.#end}]`);
    }
    let at = this.#start;
    for (const chunk of this.#chunks) {
      if (at + chunk.length > offset) return chunk.subarray(offset - at, Math.min(chunk.length, offset - at + maxBytes));
      at += chunk.length;
    }
    return undefined;
  }
}
