import { StringDecoder } from 'node:string_decoder';

/** Default longest line kept whole by {@link LineSplitter} (in UTF-16 code units). */
export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

/**
 * Splits a UTF-8 byte stream into lines that keep their trailing "\n" (like the Step
 * `Lines` message). Only "\n" ends a line; "\r" stays in it. Multi-byte characters split
 * across chunks are decoded right. A line longer than `maxLineLength` is emitted in
 * pieces of that length, so one endless line cannot exhaust memory.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #maxLineLength: number;
  #partial = '';

  constructor(maxLineLength = DEFAULT_MAX_LINE_LENGTH) {
    if (!Number.isSafeInteger(maxLineLength) || maxLineLength <= 0) {
      throw new RangeError(`maxLineLength must be a positive integer, got ${maxLineLength}`);
    }
    this.#maxLineLength = maxLineLength;
  }

  /** Feeds bytes; returns the lines they complete. */
  push(chunk: Buffer): string[] {
    const text = this.#partial + this.#decoder.write(chunk);
    const lines: string[] = [];
    let lineStart = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', lineStart)) {
      this.#emit(text.slice(lineStart, newline + 1), lines);
      lineStart = newline + 1;
    }
    let rest = text.slice(lineStart);
    while (rest.length > this.#maxLineLength) {
      const cut = this.#cutPoint(rest);
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    this.#partial = rest;
    return lines;
  }

  /** The input is over: returns the last, unterminated line if there is one. */
  end(): string[] {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    const lines: string[] = [];
    if (rest.length > 0) this.#emit(rest, lines);
    return lines;
  }

  #emit(line: string, into: string[]): void {
    let rest = line;
    while (rest.length > this.#maxLineLength) {
      const cut = this.#cutPoint(rest);
      into.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    into.push(rest);
  }

  /** Where to cut an over-long line: at the limit, but never inside a surrogate pair. */
  #cutPoint(text: string): number {
    const code = text.charCodeAt(this.#maxLineLength - 1);
    const isHighSurrogate = code >= 0xd800 && code <= 0xdbff;
    return isHighSurrogate && this.#maxLineLength > 1 ? this.#maxLineLength - 1 : this.#maxLineLength;
  }
}
