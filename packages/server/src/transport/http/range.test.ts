import { expect } from 'chai';
import { parseRange } from './range.js';

describe('parseRange (RFC 9110 single byte ranges)', () => {
  it('has no range without a header', () => {
    expect(parseRange(undefined, 100)).to.deep.equal({ kind: 'none' });
  });

  it('reads first-last, open-ended and suffix ranges, clamping the end to the size', () => {
    expect(parseRange('bytes=0-9', 100)).to.deep.equal({ kind: 'satisfiable', start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).to.deep.equal({ kind: 'satisfiable', start: 90, end: 99 });
    expect(parseRange('bytes=90-1000', 100)).to.deep.equal({ kind: 'satisfiable', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).to.deep.equal({ kind: 'satisfiable', start: 90, end: 99 });
    expect(parseRange('bytes=-1000', 100)).to.deep.equal({ kind: 'satisfiable', start: 0, end: 99 });
    expect(parseRange('bytes=99-99', 100)).to.deep.equal({ kind: 'satisfiable', start: 99, end: 99 });
  });

  it('is lenient about case, whitespace and empty list elements', () => {
    expect(parseRange('Bytes=1-2', 100)).to.deep.equal({ kind: 'satisfiable', start: 1, end: 2 });
    expect(parseRange('bytes= 1-2 ', 100)).to.deep.equal({ kind: 'satisfiable', start: 1, end: 2 });
    expect(parseRange('bytes=,1-2,', 100)).to.deep.equal({ kind: 'satisfiable', start: 1, end: 2 });
  });

  it('says unsatisfiable for a first byte at or past the end, an empty suffix, or any range of nothing', () => {
    expect(parseRange('bytes=100-', 100)).to.deep.equal({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=100-200', 100)).to.deep.equal({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-0', 100)).to.deep.equal({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).to.deep.equal({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-5', 0)).to.deep.equal({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=99999999999999999999999-', 100)).to.deep.equal({ kind: 'unsatisfiable' });
  });

  it('ignores what the RFC lets a server ignore: bad syntax, other units, several ranges', () => {
    for (const header of ['bytes=5-2', 'bytes=a-b', 'bytes=1-2-3', 'bytes=', 'bytes=-', 'bytes', 'bytes=+1-2', 'bytes=1.5-2']) {
      expect(parseRange(header, 100), header).to.deep.equal({ kind: 'ignored', reason: 'syntax' });
    }
    expect(parseRange('items=0-1', 100)).to.deep.equal({ kind: 'ignored', reason: 'unit' });
    expect(parseRange('bytes=0-1,5-9', 100)).to.deep.equal({ kind: 'ignored', reason: 'multiple' });
    expect(parseRange('bytes=0-1,9-5', 100)).to.deep.equal({ kind: 'ignored', reason: 'syntax' });
  });
});
