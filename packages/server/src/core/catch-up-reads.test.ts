import { expect } from 'chai';
import { CatchUpPace, CatchUpReads, MAX_PIECE_BYTES, MIN_PIECE_BYTES, READS_AT_ONCE } from './catch-up-reads.js';

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
  it('reads pieces of half the budget for a lone reader, capped at 1 MiB, and smaller ones the more readers are open', async () => {
    expect(new CatchUpReads(256 * 1024 * 1024).pieceBytes()).to.equal(MAX_PIECE_BYTES);
    expect(new CatchUpReads(200 * 1024).pieceBytes()).to.equal(100 * 1024);
    expect(new CatchUpReads(1024).pieceBytes()).to.equal(MIN_PIECE_BYTES);
    const reads = new CatchUpReads(8 * MIN_PIECE_BYTES);
    const open = [0, 1].map(() => reads.pieces(0, MAX_PIECE_BYTES, async (s, e) => Buffer.alloc(e - s))[Symbol.asyncIterator]());
    await Promise.all(open.map((r) => r.next()));
    // Two readers, two pieces each: a quarter of the budget per piece.
    expect(reads.pieceBytes()).to.equal(2 * MIN_PIECE_BYTES);
    for (const r of open) await r.return?.(undefined);
  });

  it('lets a reader earn its piece size: the smallest first (and read ahead), doubled each time its socket took one, up to its share', async () => {
    const reads = new CatchUpReads(256 * 1024 * 1024);
    const sizes: number[] = [];
    for await (const piece of reads.pieces(0, 8 * MAX_PIECE_BYTES, async (s, e) => Buffer.alloc(e - s))) sizes.push(piece.length);
    expect(sizes.slice(0, 9)).to.deep.equal([1, 1, 2, 4, 8, 16, 32, 64, 64].map((n) => n * MIN_PIECE_BYTES));
    expect(sizes.reduce((a, b) => a + b, 0)).to.equal(8 * MAX_PIECE_BYTES);
    // One connection's pace carries from one range to the next (a Step client asks 1 MiB at a time).
    const pace = new CatchUpPace();
    const firstRange: number[] = [];
    for await (const piece of reads.pieces(0, 4 * MIN_PIECE_BYTES, async (s, e) => Buffer.alloc(e - s), pace))
      firstRange.push(piece.length);
    expect(firstRange).to.deep.equal([MIN_PIECE_BYTES, MIN_PIECE_BYTES, 2 * MIN_PIECE_BYTES]);
    const secondRange: number[] = [];
    for await (const piece of reads.pieces(0, MAX_PIECE_BYTES, async (s, e) => Buffer.alloc(e - s), pace)) secondRange.push(piece.length);
    expect(secondRange[0]).to.equal(8 * MIN_PIECE_BYTES);
    // A stalled reader (its socket never took its first piece) holds the smallest pieces only.
    const stalled = reads.pieces(0, 8 * MAX_PIECE_BYTES, async (s, e) => Buffer.alloc(e - s))[Symbol.asyncIterator]();
    await stalled.next();
    await tick();
    expect(reads.heldBytes).to.equal(2 * MIN_PIECE_BYTES);
    await stalled.return?.(undefined);
  });

  it(`runs ${READS_AT_ONCE} reads at a time at most, in turns (first come first served)`, async () => {
    expect(READS_AT_ONCE).to.equal(4);
    const reads = new CatchUpReads(256 * MIN_PIECE_BYTES);
    const gate = gatedReads();
    const count = READS_AT_ONCE + 2;
    const readers = Array.from({ length: count }, () => reads.pieces(0, 10 * MAX_PIECE_BYTES, gate.read)[Symbol.asyncIterator]());
    const firsts = readers.map((r) => r.next());
    await tick();
    expect(gate.asked).to.have.length(READS_AT_ONCE);
    gate.asked[0]?.done();
    await tick();
    expect(gate.asked).to.have.length(READS_AT_ONCE + 1, 'the next reader in line got the slot');
    for (let i = 1; i < count; i++) {
      gate.asked[i]?.done();
      await tick();
    }
    // Each reader's first piece is the smallest; the first reader's piece read ahead comes after every first piece.
    expect(gate.asked.slice(0, count).map((a) => a.end - a.start)).to.deep.equal(Array(count).fill(MIN_PIECE_BYTES));
    expect(gate.asked[count]?.start, "reader 0's next piece").to.equal(MIN_PIECE_BYTES);
    const pieces = await Promise.all(firsts);
    expect(pieces.every((p) => !p.done)).to.equal(true);
    expect(gate.most()).to.equal(READS_AT_ONCE);
    // Readers that stop (their connection closed) hold nothing any more.
    for (const a of gate.asked.slice(count)) a.done();
    for (const r of readers) await r.return?.(undefined);
    expect(reads.held).to.equal(0);
    expect(reads.heldBytes).to.equal(0);
  });

  it('never holds more than the budget, however readers arrive: a read waits for room, then goes on', async () => {
    const budget = 64 * MIN_PIECE_BYTES;
    const reads = new CatchUpReads(budget);
    let most = 0;
    const read = async (s: number, e: number) => {
      most = Math.max(most, reads.heldBytes);
      return Buffer.alloc(e - s);
    };
    // Readers arrive one by one and stall on their first piece: the early ones got large pieces.
    const stalled: AsyncIterator<Buffer>[] = [];
    for (let i = 0; i < 40; i++) {
      const reader = reads.pieces(0, 4 * MAX_PIECE_BYTES, read)[Symbol.asyncIterator]();
      stalled.push(reader);
      void reader.next();
      await tick();
      expect(reads.heldBytes).to.be.at.most(budget);
    }
    // The budget is full: a new reader waits for room.
    const late = reads.pieces(0, MIN_PIECE_BYTES, read)[Symbol.asyncIterator]();
    const lateFirst = late.next();
    let lateDone = false;
    void lateFirst.then(() => {
      lateDone = true;
    });
    await tick();
    expect(reads.heldBytes + MIN_PIECE_BYTES).to.be.greaterThan(budget);
    expect(lateDone, 'waits while the budget is held').to.equal(false);
    // Stalled readers leave (their connections were dropped): the room goes to the waiting read.
    for (const reader of stalled.slice(0, 10)) await reader.return?.(undefined);
    expect((await lateFirst).value?.length).to.equal(MIN_PIECE_BYTES);
    expect(most).to.be.at.most(budget);
    await late.return?.(undefined);
    for (const reader of stalled) await reader.return?.(undefined);
    expect(reads.heldBytes).to.equal(0);
    expect(reads.held).to.equal(0);
  });

  it('moves with a budget smaller than a piece (one piece at a time), and frees what a stopped reader reserved', async () => {
    const reads = new CatchUpReads(1024);
    let bytes = 0;
    for await (const piece of reads.pieces(0, 3 * MIN_PIECE_BYTES + 5, async (s, e) => Buffer.alloc(e - s))) bytes += piece.length;
    expect(bytes).to.equal(3 * MIN_PIECE_BYTES + 5);
    expect(reads.heldBytes).to.equal(0);
    // A second reader waits for the room the first one's piece holds; the first one's read
    // ahead finds none and gives its turn up; both end without holding anything.
    const gate = gatedReads();
    const first = reads.pieces(0, MAX_PIECE_BYTES, gate.read)[Symbol.asyncIterator]();
    const second = reads.pieces(0, 2 * MIN_PIECE_BYTES, gate.read)[Symbol.asyncIterator]();
    await tick();
    const firstPiece = first.next();
    await tick();
    const secondPiece = second.next();
    await tick();
    gate.asked[0]?.done();
    expect((await firstPiece).value?.length).to.equal(MIN_PIECE_BYTES);
    await tick();
    expect(gate.asked, 'the second waits for room').to.have.length(1);
    await first.return?.(undefined);
    await tick();
    expect(gate.asked, 'room freed: the second reads').to.have.length(2);
    gate.asked[1]?.done();
    expect((await secondPiece).value?.length).to.equal(MIN_PIECE_BYTES);
    await second.return?.(undefined);
    expect(reads.heldBytes).to.equal(0);
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
