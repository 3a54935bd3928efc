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
 * and no allocation. It tracks the page's byte offsets: where its first line starts and
 * where its last one ends (`startOffset` / `endOffset`, from the offset of the first chunk).
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
  /** Offset of the next chunk's first byte. */
  private position: number;
  /** Where the first line of the page starts (known once every skipped line was passed). */
  private start: number | undefined;
  /** Where the page ends: after its last whole line. */
  private end: number | undefined;
  /** Bytes of `partial` (an unterminated line at the end of the chunks so far). */
  private partialBytes = 0;

  constructor(
    private skip: number,
    private readonly count: number,
    /** Largest page, in bytes as JSON: more throws MESSAGE_TOO_LARGE. */
    private readonly maxBytes: number,
    /** Offset of the first chunk's first byte (the start of line `skip` lines before the page's first). */
    firstChunkOffset = 0,
  ) {
    this.position = firstChunkOffset;
    if (skip === 0) this.start = this.end = firstChunkOffset;
  }

  /** True once the page has its lines (and knows where they start): no more chunks needed. */
  get full(): boolean {
    return this.skip === 0 && this.lines.length >= this.count;
  }

  /** Byte offset of the page's first line (of where it would start, for an empty page); undefined before the skipped lines were passed. */
  get startOffset(): number | undefined {
    return this.start;
  }

  /** Byte offset just past the page's last line (its start for an empty page). */
  get endOffset(): number | undefined {
    return this.end;
  }

  /** Takes the lines of the next chunk (it continues where the previous one ended). */
  add(chunk: Buffer): void {
    const base = this.position;
    this.position += chunk.length;
    let at = 0;
    while (this.skip > 0 && at < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, at);
      if (newline === -1) return;
      this.skip--;
      at = newline + 1;
      if (this.skip === 0) this.start = this.end = base + at;
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
    if (this.lines.length < this.count && terminal && this.partial.length > 0) this.endLine();
    return this.lines;
  }

  private keep(piece: Buffer): void {
    if (this.partial.length === 0) this.jsonBytes += JSON_LINE_OVERHEAD;
    this.grow(piece.length + jsonEscapeExtra(piece));
    this.partial.push(piece);
    this.partialBytes += piece.length;
  }

  private endLine(): void {
    const line = this.partial.length === 1 ? (this.partial[0] as Buffer) : Buffer.concat(this.partial);
    this.partial = [];
    this.end = (this.end as number) + this.partialBytes;
    this.partialBytes = 0;
    // Checked on the whole line: a UTF-8 sequence may be split between chunks.
    this.grow(replacementExtra(line));
    this.lines.push(line);
  }

  private grow(bytes: number): void {
    this.jsonBytes += bytes;
    if (this.jsonBytes > this.maxBytes) throw new MessageTooLargeError(this.maxBytes);
  }
}
