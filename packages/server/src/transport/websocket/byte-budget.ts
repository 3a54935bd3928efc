/**
 * Bytes shared by every connection of a server, e.g. for unfinished text messages: each
 * connection may hold up to its own limit, but a few hundred of them at once must not
 * exhaust memory. Single-threaded, so plain counters suffice.
 */
export class ByteBudget {
  #used = 0;

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`Invalid budget of ${limit} bytes`);
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if that many are left; false (taking nothing) otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back bytes taken by `tryReserve`. */
  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
