import { expect } from 'chai';
import { LINE_INDEX_STRIDE } from '../types.js';
import { LineIndexer } from './line-indexer.js';
import { randomText, reference } from './newline-scanner.test.js';

describe('LineIndexer', () => {
  it('records an entry after every LINE_INDEX_STRIDE-th newline, whatever the chunking', () => {
    const data = randomText(300_000, 0.03, 42);
    const { total, found } = reference(data, LINE_INDEX_STRIDE, LINE_INDEX_STRIDE);
    const expected = found.map((at, i) => ({ block: i + 1, offset: at + 1 }));
    for (const chunkBytes of [1, 1000, 65_536, 300_000]) {
      const indexer = new LineIndexer();
      for (let at = 0; at < data.length; at += chunkBytes) indexer.scan(data.subarray(at, at + chunkBytes), at);
      expect(indexer.newlines).to.equal(total);
      expect(indexer.takeEntriesUpTo(data.length)).to.deep.equal(expected);
    }
  });

  it('continues the numbering of a resumed upload', () => {
    const indexer = new LineIndexer(LINE_INDEX_STRIDE * 3 - 1);
    indexer.scan(Buffer.from('a\nb\n'), 1000);
    expect(indexer.newlines).to.equal(LINE_INDEX_STRIDE * 3 + 1);
    expect(indexer.takeEntriesUpTo(2000)).to.deep.equal([{ block: 3, offset: 1002 }]);
  });
});
