import { isUtf8 } from 'node:buffer';
import { MessageTooLargeError } from '@spool/common';

const NEWLINE = 0x0a;

/**
 * Bytes each byte adds when its line is sent as a JSON string: control bytes become
 * `\u00XX` (6 bytes) or a short escape like `\n` (2), `"` and `\` are escaped (2).
 */
const JSON_ESCAPE_EXTRA = (() => {
  const extra = new Uint8Array(256);
  for (let byte = 0; byte < 0x20; byte++) extra[byte] = 5;
  for (const byte of [0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x22, 0x5c]) extra[byte] = 1;
  return extra;
})();
/** Per line: its quotes and a comma. */
const JSON_LINE_OVERHEAD = 3;
/** `[` and `]`, less the comma the first line does not need. */
const JSON_ARRAY_OVERHEAD = 1;
/** Invalid UTF-8 decodes to U+FFFD, 3 bytes in the JSON, from as little as 1 byte. */
const REPLACEMENT_EXTRA = 2;

/** What `bytes` add to their length once JSON-escaped (assuming valid UTF-8). */
function jsonEscapeExtra(bytes: Uint8Array): number {
  let extra = 0;
  for (let at = 0; at < bytes.length; at++) extra += JSON_ESCAPE_EXTRA[bytes[at] as number] as number;
  return extra;
}

/** An upper bound of what decoding `line` as UTF-8 adds: each byte of an invalid sequence may become U+FFFD. */
function replacementExtra(line: Buffer): number {
  if (isUtf8(line)) return 0;
  let high = 0;
  for (let at = 0; at < line.length; at++) if ((line[at] as number) >= 0x80) high++;
  return high * REPLACEMENT_EXTRA;
}

/**
 * Collects one page of lines from consecutive chunks of a resource: skips `skip` whole
 * lines, then keeps up to `count` lines, each with its `\n`. Lines are views of the
 * chunks (a line split across chunks is joined); skipped lines cost one `indexOf` each
 * and no allocation.
 *
 * Every protocol sends a page as a JSON array of strings, so the page is bounded by that
 * size, not by its raw bytes: a line of control bytes grows sixfold once escaped, and
 * each decoded copy (string, JSON, send buffer) is as large. The escapes are counted per
 * byte; invalid UTF-8 is counted at its worst (3 bytes per byte), so the bound holds
 * whatever the bytes.
 */
export class LinePage {
  readonly lines: Buffer[] = [];
  private partial: Buffer[] = [];
  /** The size of the page so far (and `partial`) as a JSON array of strings; exact for valid UTF-8. */
  private jsonBytes = JSON_ARRAY_OVERHEAD;

  constructor(
    private skip: number,
    private readonly count: number,
    /** Largest page, in bytes as JSON: more throws MESSAGE_TOO_LARGE. */
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
    if (this.partial.length === 0) this.jsonBytes += JSON_LINE_OVERHEAD;
    this.grow(piece.length + jsonEscapeExtra(piece));
    this.partial.push(piece);
  }

  private endLine(): void {
    const line = this.partial.length === 1 ? (this.partial[0] as Buffer) : Buffer.concat(this.partial);
    this.partial = [];
    // Checked on the whole line: a UTF-8 sequence may be split between chunks.
    this.grow(replacementExtra(line));
    this.lines.push(line);
  }

  private grow(bytes: number): void {
    this.jsonBytes += bytes;
    if (this.jsonBytes > this.maxBytes) throw new MessageTooLargeError(this.maxBytes);
  }
}
