import { MessageTooLargeError } from '@spool/common';

const NEWLINE = 0x0a;

/**
 * Collects one page of lines from consecutive chunks of a resource: skips `skip` whole
 * lines, then keeps up to `count` lines, each with its `\n`. Lines are views of the
 * chunks (a line split across chunks is joined); skipped lines cost one `indexOf` each
 * and no allocation.
 */
export class LinePage {
  readonly lines: Buffer[] = [];
  private partial: Buffer[] = [];
  private bytes = 0;

  constructor(
    private skip: number,
    private readonly count: number,
    /** Largest page in bytes: more throws MESSAGE_TOO_LARGE. */
    private readonly maxBytes: number,
  ) {}

  get full(): boolean {
    return this.lines.length >= this.count;
  }

  /** Takes the lines of the next chunk (it continues where the previous one ended). */
  add(chunk: Buffer): void {
    let at = 0;
    while (this.skip > 0 && at < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, at);
      if (newline === -1) return;
      this.skip--;
      at = newline + 1;
    }
    while (!this.full && at < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, at);
      const end = newline === -1 ? chunk.length : newline + 1;
      this.keep(chunk.subarray(at, end));
      if (newline !== -1) this.endLine();
      at = end;
    }
  }

  /** The page; `terminal`: the resource ended, so an unterminated last line counts. */
  finish(terminal: boolean): Buffer[] {
    if (!this.full && terminal && this.partial.length > 0) this.endLine();
    return this.lines;
  }

  private keep(piece: Buffer): void {
    this.bytes += piece.length;
    if (this.bytes > this.maxBytes) throw new MessageTooLargeError(this.maxBytes);
    this.partial.push(piece);
  }

  private endLine(): void {
    this.lines.push(this.partial.length === 1 ? (this.partial[0] as Buffer) : Buffer.concat(this.partial));
    this.partial = [];
  }
}
