import { expect } from 'chai';
import { UnacknowledgedBytes } from './unacknowledged-bytes.js';

/** Everything held from `offset` on, read back in slices of `max` bytes. */
function readFrom(held: UnacknowledgedBytes, offset: number, max: number): string {
  const parts: string[] = [];
  for (let at = offset; ; ) {
    const slice = held.sliceAt(at, max);
    if (!slice) break;
    expect(slice.length).to.be.within(1, max);
    parts.push(slice.toString());
    at += slice.length;
  }
  return parts.join('');
}

describe('UnacknowledgedBytes', () => {
  it('holds appended chunks as one byte range and reads it back from any offset', () => {
    const held = new UnacknowledgedBytes();
    for (const chunk of ['abc', '', 'defgh', 'i']) held.append(Buffer.from(chunk));
    expect([held.start, held.end, held.size]).to.deep.equal([0, 9, 9]);
    expect(readFrom(held, 0, 2)).to.equal('abcdefghi');
    expect(readFrom(held, 4, 100)).to.equal('efghi');
    expect(held.sliceAt(9, 4)).to.equal(undefined);
  });

  it('releases durable bytes, also inside a chunk, and refuses offsets it does not hold', () => {
    const held = new UnacknowledgedBytes();
    held.append(Buffer.from('abc'));
    held.append(Buffer.from('defgh'));
    held.releaseUpTo(5);
    expect([held.start, held.size]).to.deep.equal([5, 3]);
    expect(readFrom(held, 5, 3)).to.equal('fgh');
    held.releaseUpTo(2); // older acknowledgement: nothing changes
    expect(held.start).to.equal(5);
    expect(() => held.sliceAt(4, 1)).to.throw(RangeError);
    expect(() => held.releaseUpTo(9)).to.throw(RangeError);
    held.releaseUpTo(8);
    expect([held.start, held.end, held.size]).to.deep.equal([8, 8, 0]);
    held.append(Buffer.from('ij'));
    expect(readFrom(held, 8, 1)).to.equal('ij');
  });
});
