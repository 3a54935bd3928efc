import { expect } from 'chai';
import { CatchUpReads, MAX_PIECE_BYTES, MIN_PIECE_BYTES, READS_AT_ONCE } from './catch-up-reads.js';

/** A read that completes when the test says so, remembering what was asked. */
function gatedReads() {
  const asked: { start: number; end: number; done: () => void }[] = [];
  let running = 0;
  let most = 0;
  const read = (start: number, end: number) =>
    new Promise<Buffer>((resolve) => {
      running++;
      most = Math.max(most, running);
      asked.push({
        start,
        end,
        done: () => {
          running--;
          resolve(Buffer.alloc(end - start));
        },
      });
    });
  return { asked, read, most: () => most };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('CatchUpReads', () => {
  it('reads one piece of the whole budget for a lone reader, capped at 1 MiB, and small pieces when many hold one', () => {
    expect(new CatchUpReads(256 * 1024 * 1024).pieceBytes()).to.equal(MAX_PIECE_BYTES);
    expect(new CatchUpReads(100 * 1024).pieceBytes()).to.equal(100 * 1024);
    expect(new CatchUpReads(1024).pieceBytes()).to.equal(MIN_PIECE_BYTES);
  });

  it('runs one read at a time, in turns (first come first served), sizing pieces by the pieces held', async () => {
    expect(READS_AT_ONCE).to.equal(1);
    const reads = new CatchUpReads(4 * MIN_PIECE_BYTES);
    const gate = gatedReads();
    const readers = [0, 1, 2].map(() => reads.pieces(0, 10 * MAX_PIECE_BYTES, gate.read)[Symbol.asyncIterator]());
    const firsts = readers.map((r) => r.next());
    await tick();
    expect(gate.asked).to.have.length(1);
    expect(reads.held).to.equal(3);
    gate.asked[0]?.done();
    await tick();
    expect(gate.asked).to.have.length(2, 'the second reader got the slot');
    gate.asked[1]?.done();
    await tick();
    gate.asked[2]?.done();
    await tick();
    // Sized as they came: the budget over 1, 2, 3 pieces held; the first reader's piece read ahead comes after the others.
    expect(gate.asked.slice(0, 3).map((a) => a.end - a.start)).to.deep.equal([
      4 * MIN_PIECE_BYTES,
      2 * MIN_PIECE_BYTES,
      Math.floor((4 * MIN_PIECE_BYTES) / 3),
    ]);
    expect(gate.asked[3]?.start, "reader 0's next piece").to.equal(4 * MIN_PIECE_BYTES);
    const pieces = await Promise.all(firsts);
    expect(pieces.every((p) => !p.done)).to.equal(true);
    expect(gate.most()).to.equal(1);
    // Readers that stop (their connection closed) hold nothing any more.
    for (const a of gate.asked.slice(3)) a.done();
    for (const r of readers) await r.return?.(undefined);
    expect(reads.held).to.equal(0);
  });

  it('a stalled reader holds two pieces at most and no slot: the others go on', async () => {
    const reads = new CatchUpReads(64 * 1024 * 1024);
    const stalled = reads.pieces(0, 4 * MAX_PIECE_BYTES, async (s, e) => Buffer.alloc(e - s))[Symbol.asyncIterator]();
    await stalled.next(); // and never asks for the next piece
    let bytes = 0;
    for await (const piece of reads.pieces(0, 8 * MAX_PIECE_BYTES, async (s, e) => Buffer.alloc(e - s))) bytes += piece.length;
    expect(bytes).to.equal(8 * MAX_PIECE_BYTES);
    expect(reads.held).to.equal(2);
    await stalled.return?.(undefined);
    expect(reads.held).to.equal(0);
  });
});
