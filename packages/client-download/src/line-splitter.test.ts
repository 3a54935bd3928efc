import { expect } from 'chai';
import { LineSplitter } from './line-splitter.js';

describe('LineSplitter', () => {
  it('splits on \\n only, keeping it and any \\r', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('a\r\nb'))).to.deep.equal(['a\r\n']);
    expect(splitter.push(Buffer.from('c\n\nd'))).to.deep.equal(['bc\n', '\n']);
    expect(splitter.end()).to.deep.equal(['d']);
    expect(splitter.end()).to.deep.equal([]);
  });

  it('decodes characters split across chunks', () => {
    const splitter = new LineSplitter();
    const bytes = Buffer.from('€\n');
    expect(splitter.push(bytes.subarray(0, 1))).to.deep.equal([]);
    expect(splitter.push(bytes.subarray(1))).to.deep.equal(['€\n']);
  });

  it('cuts over-long lines into pieces, never inside a surrogate pair', () => {
    const splitter = new LineSplitter(4);
    expect(splitter.push(Buffer.from('abcdefghij\n'))).to.deep.equal(['abcd', 'efgh', 'ij\n']);
    expect(splitter.push(Buffer.from('abc😀def'))).to.deep.equal(['abc', '😀de']);
    expect(splitter.end()).to.deep.equal(['f']);
  });
});
