import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { LinePage } from './line-page.js';

/** Feeds `text` to a page in chunks of `size` bytes, as successive reads would. */
function collect(text: string, size: number, skip: number, count: number, terminal = false, maxBytes = 1 << 20): string[] {
  const page = new LinePage(skip, count, maxBytes);
  const data = Buffer.from(text);
  for (let at = 0; at < data.length && !page.full; at += size) page.add(data.subarray(at, at + size));
  return page.finish(terminal).map(String);
}

describe('LinePage', () => {
  const text = 'zero\none\ntwo\nthree\nfour\nfive';

  it('skips, then keeps whole lines with their \\n, whatever the chunk size', () => {
    for (const size of [1, 2, 3, 7, 100]) {
      expect(collect(text, size, 0, 2), `chunks of ${size}`).to.deep.equal(['zero\n', 'one\n']);
      expect(collect(text, size, 2, 3), `chunks of ${size}`).to.deep.equal(['two\n', 'three\n', 'four\n']);
    }
  });

  it('counts an unterminated last line only once the resource is terminal', () => {
    expect(collect(text, 4, 4, 5)).to.deep.equal(['four\n']);
    expect(collect(text, 4, 4, 5, true)).to.deep.equal(['four\n', 'five']);
  });

  it('stops taking lines once full', () => {
    const page = new LinePage(1, 1, 1024);
    page.add(Buffer.from('a\nb\nc\n'));
    expect(page.full).to.equal(true);
    page.add(Buffer.from('d\n'));
    expect(page.finish(true).map(String)).to.deep.equal(['b\n']);
  });

  it("knows where its lines start and end, from the first chunk's offset, whatever the chunk size", () => {
    for (const size of [1, 2, 5, 100]) {
      const page = new LinePage(2, 2, 1024, 1000);
      const data = Buffer.from(text);
      for (let at = 0; at < data.length && !page.full; at += size) page.add(data.subarray(at, at + size));
      page.finish(false);
      // 'zero\none\n' is 9 bytes; 'two\nthree\n' 10 more.
      expect([page.startOffset, page.endOffset], `chunks of ${size}`).to.deep.equal([1009, 1019]);
    }
    const empty = new LinePage(0, 0, 1024, 7);
    expect([empty.full, empty.startOffset, empty.endOffset]).to.deep.equal([true, 7, 7]);
  });

  it('refuses a page larger than its limit with MESSAGE_TOO_LARGE, skipped lines not counted', () => {
    // ["short\n"]: 11 bytes as JSON.
    expect(collect(`${'x'.repeat(50)}\nshort\n`, 8, 1, 1, false, 11)).to.deep.equal(['short\n']);
    let caught: unknown;
    try {
      collect(`short\n${'x'.repeat(50)}\n`, 8, 0, 2, false, 11);
    } catch (err) {
      caught = err;
    }
    expect((caught as SpoolError).code).to.equal(ErrorCode.MESSAGE_TOO_LARGE);
  });
});

describe('LinePage: bounded by its size as a JSON array of strings', () => {
  /** What the WebSocket protocols send for these lines: a JSON array of the decoded lines. */
  const jsonSize = (lines: Buffer[]) => Buffer.byteLength(JSON.stringify(lines.map(String)));
  /** The page of every line of `data`, or the error code when refused at `maxBytes`. */
  function pageOf(data: Buffer, maxBytes: number): Buffer[] | string {
    const page = new LinePage(0, Number.MAX_SAFE_INTEGER, maxBytes);
    try {
      for (let at = 0; at < data.length; at += 5) page.add(data.subarray(at, at + 5));
      return page.finish(true);
    } catch (err) {
      return (err as SpoolError).code;
    }
  }

  it('refuses lines of control bytes whose raw size fits but whose JSON does not', () => {
    const line = Buffer.concat([Buffer.alloc(200, 0x01), Buffer.from('\n')]);
    expect(line.length).to.be.below(1024);
    expect(pageOf(line, 1024)).to.equal(ErrorCode.MESSAGE_TOO_LARGE);
    // 200 × `\u0001`, `\n`, quotes, brackets.
    expect(pageOf(line, 200 * 6 + 2 + 2 + 2)).to.deep.equal([line]);
  });

  it('counts exactly what JSON makes of valid UTF-8: escapes, quotes, backslashes, multi-byte characters', () => {
    const data = Buffer.from('plain\n\t"quoted" \\ back\r\n\x00\x1f\x7f\x08\x0c\nété 日本 🎉\n\nlast', 'utf8');
    const lines = pageOf(data, 1 << 20) as Buffer[];
    expect(lines.map(String)).to.deep.equal(['plain\n', '\t"quoted" \\ back\r\n', '\x00\x1f\x7f\x08\x0c\n', 'été 日本 🎉\n', '\n', 'last']);
    expect(pageOf(data, jsonSize(lines))).to.deep.equal(lines);
    expect(pageOf(data, jsonSize(lines) - 1)).to.equal(ErrorCode.MESSAGE_TOO_LARGE);
  });

  it('never lets invalid UTF-8 (decoded to U+FFFD) exceed the limit, even split between chunks', () => {
    let state = 7;
    for (let round = 0; round < 50; round++) {
      const data = Buffer.alloc(300);
      for (let i = 0; i < data.length; i++) {
        state = (state * 1103515245 + 12345) >>> 0;
        data[i] = state >>> 24;
      }
      const lines = pageOf(data, 1 << 20) as Buffer[];
      expect(pageOf(data, jsonSize(lines) - 1), `round ${round}`).to.equal(ErrorCode.MESSAGE_TOO_LARGE);
    }
  });
});
