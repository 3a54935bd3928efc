import { expect } from 'chai';
import { RemoteTails } from './remote-tails.js';
import type { ByteStore } from './storage/byte-store.js';

/** A store holding one growing resource in memory, counting reads. */
function countingStore() {
  let data = Buffer.alloc(0);
  const reads: [number, number][] = [];
  const store = {
    read: async (_id: string, start: number, end: number) => {
      reads.push([start, end]);
      return data.subarray(start, end);
    },
  } as unknown as ByteStore;
  return { store, reads, append: (text: string) => (data = Buffer.concat([data, Buffer.from(text)])) };
}

const status = (size: number) => ({ id: 'r', state: 'IN_PROGRESS' as const, size, lines: null });

describe('RemoteTails', () => {
  it('reads the bytes each status adds once for all followers of the node, and serves them from memory', async () => {
    const { store, reads, append } = countingStore();
    const tails = new RemoteTails(store, () => false, 1024);
    for (let i = 0; i < 100; i++) tails.retain('r');
    expect(tails.prepare(status(0))).to.equal(undefined); // the first status: the window starts there
    append('hello ');
    await Promise.all(Array.from({ length: 100 }, () => tails.prepare(status(6))));
    append('world');
    await Promise.all(Array.from({ length: 100 }, () => tails.prepare(status(11))));
    expect(reads).to.deep.equal([
      [0, 6],
      [6, 11],
    ]);
    expect(tails.read('r', 0, 11)?.map(String).join('')).to.equal('hello world');
    expect(tails.read('r', 3, 11)?.map(String).join('')).to.equal('lo world');
  });

  it('skips a gap larger than its window (followers behind read the store), and forgets a resource nobody follows', async () => {
    const { store, reads, append } = countingStore();
    const tails = new RemoteTails(store, () => false, 4);
    tails.retain('r');
    tails.prepare(status(0));
    append('0123456789');
    expect(await tails.prepare(status(10))).to.equal(true);
    expect(reads).to.deep.equal([[9, 10]]); // only that the store holds the end

    expect(tails.read('r', 0, 10)).to.equal(undefined);
    tails.release('r');
    expect(tails.prepare(status(12))).to.equal(undefined);
  });

  it('does not show a status whose bytes the store does not hold (a writer fenced out), and reads again at the next', async () => {
    const { store, append } = countingStore();
    const tails = new RemoteTails(store, () => false, 1024);
    tails.retain('r');
    tails.prepare(status(0));
    append('abc');
    expect(await tails.prepare(status(8))).to.equal(false);
    expect(tails.read('r', 0, 3)).to.equal(undefined);
    expect(await tails.prepare(status(3))).to.equal(true);
    expect(tails.read('r', 0, 3)?.map(String).join('')).to.equal('abc');
    append('defgh');
    expect(await tails.prepare(status(8))).to.equal(true);
    expect(tails.read('r', 3, 8)?.map(String).join('')).to.equal('defgh');
  });

  it('leaves an upload written on this node to its own window', () => {
    const { store } = countingStore();
    const tails = new RemoteTails(store, () => true);
    tails.retain('r');
    expect(tails.prepare(status(5))).to.equal(undefined);
    expect(tails.read('r', 0, 5)).to.equal(undefined);
  });
});
