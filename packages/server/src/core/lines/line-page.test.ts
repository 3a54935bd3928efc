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

  it('refuses a page larger than its limit with MESSAGE_TOO_LARGE, skipped lines not counted', () => {
    expect(collect(`${'x'.repeat(50)}\nshort\n`, 8, 1, 1, false, 10)).to.deep.equal(['short\n']);
    let caught: unknown;
    try {
      collect(`short\n${'x'.repeat(50)}\n`, 8, 0, 2, false, 10);
    } catch (err) {
      caught = err;
    }
    expect((caught as SpoolError).code).to.equal(ErrorCode.MESSAGE_TOO_LARGE);
  });
});
