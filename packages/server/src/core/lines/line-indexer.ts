import { LINE_INDEX_STRIDE, type LineIndexEntry } from '../types.js';
import { scanNewlines } from './newline-scanner.js';

const NEWLINE = 0x0a;

/**
 * Counts `\n` bytes as data is appended and records a sparse index entry every
 * LINE_INDEX_STRIDE lines, so line `i` is found by one catalog lookup plus a scan of at
 * most LINE_INDEX_STRIDE lines — never a scan of the file.
 */
export class LineIndexer {
  private count: number;
  private readonly pending: LineIndexEntry[] = [];

  constructor(startNewlines = 0) {
    this.count = startNewlines;
  }

  get newlines(): number {
    return this.count;
  }

  /** Scans `chunk`, which starts at byte `offset` of the resource. */
  scan(chunk: Buffer, offset: number): void {
    const start = this.count;
    const need = LINE_INDEX_STRIDE - (start % LINE_INDEX_STRIDE);
    let block = Math.floor(start / LINE_INDEX_STRIDE);
    this.count += scanNewlines(chunk, need, LINE_INDEX_STRIDE, (at) => {
      this.pending.push({ block: ++block, offset: offset + at + 1 });
    });
  }

  /** Offset of a pending (not yet recorded) entry for `block`, if there is one. */
  pendingOffset(block: number): number | undefined {
    const first = this.pending[0];
    if (!first || block < first.block) return undefined;
    // Entries are consecutive blocks.
    return this.pending[block - first.block]?.offset;
  }

  /** Removes and returns the pending entries that point at or before `size`. */
  takeEntriesUpTo(size: number): LineIndexEntry[] {
    let n = 0;
    while (n < this.pending.length && (this.pending[n]?.offset ?? Infinity) <= size) n++;
    return this.pending.splice(0, n);
  }
}

/** Status line count: newlines, plus a last unterminated line once the resource is terminal. */
export function reportedLines(newlines: number, size: number, lastByte: number | undefined, terminal: boolean): number {
  return terminal && size > 0 && lastByte !== NEWLINE ? newlines + 1 : newlines;
}
