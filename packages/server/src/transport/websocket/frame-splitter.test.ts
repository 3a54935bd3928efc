import { expect } from 'chai';
import { FrameSplitter } from './frame-splitter.js';
import { Opcode } from './opcodes.js';

function describePieces(splitter: FrameSplitter, chunks: number[]): string[] {
  const out: string[] = [];
  for (const size of chunks) {
    for (const piece of splitter.split(Buffer.alloc(size))) {
      const h = piece.header;
      out.push(
        h ? `${h.opcode === Opcode.BINARY ? 'B' : 'C'}${h.fin ? '!' : ''}${h.length}:${piece.payload.length}` : `+${piece.payload.length}`,
      );
    }
  }
  return out;
}

describe('websocket FrameSplitter', () => {
  it('announces one frame for a message up to the frame size, whatever the chunks', () => {
    const splitter = new FrameSplitter(10, 16);
    expect(describePieces(splitter, [3, 3, 4])).to.deep.equal(['B!10:3', '+3', '+4']);
    expect(splitter.complete).to.equal(true);
    expect(splitter.inFrame).to.equal(false);
    expect(splitter.frames).to.equal(1);
  });

  it('cuts chunks at frame boundaries; only the last frame has FIN', () => {
    const splitter = new FrameSplitter(10, 4);
    expect(describePieces(splitter, [6])).to.deep.equal(['B4:4', 'C4:2']);
    expect(splitter.inFrame).to.equal(true);
    expect(describePieces(splitter, [4])).to.deep.equal(['+2', 'C!2:2']);
    expect(splitter.complete).to.equal(true);
    expect(splitter.frames).to.equal(3);
  });

  it('marks the piece that completes each frame', () => {
    const splitter = new FrameSplitter(10, 4);
    expect(splitter.split(Buffer.alloc(6)).map((piece) => piece.endsFrame)).to.deep.equal([true, false]);
    expect(splitter.split(Buffer.alloc(4)).map((piece) => piece.endsFrame)).to.deep.equal([true, true]);
  });

  it('hands out views of the chunk, not copies', () => {
    const chunk = Buffer.from('abcdef');
    const [first, second] = new FrameSplitter(6, 4).split(chunk);
    chunk[0] = 0x7a;
    chunk[5] = 0x7a;
    expect(first?.payload.toString()).to.equal('zbcd');
    expect(second?.payload.toString()).to.equal('ez');
  });

  it('refuses a chunk past the announced length, cutting nothing', () => {
    const splitter = new FrameSplitter(5, 16);
    splitter.split(Buffer.alloc(3));
    expect(() => splitter.split(Buffer.alloc(3))).to.throw(RangeError, /more than the 5 bytes/);
    expect(splitter.sent).to.equal(3);
    expect(splitter.inFrame).to.equal(true);
  });

  it('rejects invalid lengths and frame sizes', () => {
    expect(() => new FrameSplitter(-1, 4)).to.throw(RangeError);
    expect(() => new FrameSplitter(4, 0)).to.throw(RangeError);
  });
});
