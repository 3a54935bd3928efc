import { expect } from 'chai';
import { TextAccumulator } from './text-accumulator.js';

describe('websocket TextAccumulator', () => {
  it('returns a single piece as the same memory, uncopied', () => {
    const accumulator = new TextAccumulator(100);
    const piece = Buffer.from('whole message');
    accumulator.append(piece);
    const taken = accumulator.take();
    expect(taken.buffer).to.equal(piece.buffer);
    expect(taken.toString()).to.equal('whole message');
  });

  it('joins many pieces in order and resets after take()', () => {
    const accumulator = new TextAccumulator(10_000);
    let expected = '';
    for (let i = 0; i < 3000; i++) {
      const piece = String.fromCharCode(97 + (i % 26));
      expected += piece;
      accumulator.append(Buffer.from(piece));
    }
    expect(accumulator.take().toString()).to.equal(expected);
    expect(accumulator.take()).to.have.length(0);
    accumulator.append(Buffer.from('next'));
    expect(accumulator.take().toString()).to.equal('next');
  });

  it('never grows its buffer past the length the frames announced', () => {
    const accumulator = new TextAccumulator(1 << 20);
    accumulator.append(Buffer.alloc(3000, 0x61), 5000);
    accumulator.append(Buffer.alloc(2000, 0x62), 5000);
    const taken = accumulator.take();
    expect(taken.toString()).to.equal('a'.repeat(3000) + 'b'.repeat(2000));
    expect(taken.buffer.byteLength).to.equal(5000); // not twice the first piece
  });

  it('does not write into the input buffers', () => {
    const accumulator = new TextAccumulator(100);
    const input = Buffer.from('abcdef');
    accumulator.append(input.subarray(0, 2));
    accumulator.append(Buffer.from('XY'));
    expect(accumulator.take().toString()).to.equal('abXY');
    expect(input.toString()).to.equal('abcdef');
  });
});
