import { expect } from 'chai';
import { RecentBytes } from './recent-bytes.js';

describe('RecentBytes', () => {
  it('serves the last bytes across wrap-arounds and refuses what fell out', () => {
    const recent = new RecentBytes(10, 100);
    const all: number[] = [];
    for (let i = 0; i < 7; i++) {
      const chunk = Buffer.from(Array.from({ length: 3 }, (_, j) => i * 3 + j));
      recent.append(chunk);
      all.push(...chunk);
    }
    // 21 bytes written from offset 100: [111, 121) are kept.
    expect(Buffer.concat(recent.read(111, 121) ?? [])).to.deep.equal(Buffer.from(all.slice(11)));
    expect(Buffer.concat(recent.read(115, 118) ?? [])).to.deep.equal(Buffer.from(all.slice(15, 18)));
    expect(recent.read(110, 112)).to.equal(undefined);
    expect(recent.read(120, 122)).to.equal(undefined);
    expect(recent.read(121, 121)).to.deep.equal([]);
  });

  it('keeps the tail of a chunk larger than its capacity', () => {
    const recent = new RecentBytes(4, 0);
    recent.append(Buffer.from('abcdefghij'));
    expect(Buffer.concat(recent.read(6, 10) ?? []).toString()).to.equal('ghij');
    expect(recent.read(5, 10)).to.equal(undefined);
  });

  it('hands out copies that later writes do not change', () => {
    const recent = new RecentBytes(4, 0);
    recent.append(Buffer.from('abcd'));
    const copy = recent.read(0, 4) ?? [];
    recent.append(Buffer.from('wxyz'));
    expect(Buffer.concat(copy).toString()).to.equal('abcd');
  });

  it('appends a batch larger than its capacity: the newest bytes are kept, offsets stay right', () => {
    const recent = new RecentBytes(8, 0);
    recent.append(Buffer.from('old'));
    recent.appendAll([Buffer.from('abcd'), Buffer.from('efgh'), Buffer.from('ijk')]);
    // 3 + 11 bytes written: [6, 14) kept = 'defghijk'.
    expect(Buffer.concat(recent.read(6, 14) ?? []).toString()).to.equal('defghijk');
    expect(recent.read(5, 14)).to.equal(undefined);
    recent.appendAll([Buffer.from('lm')]);
    expect(Buffer.concat(recent.read(8, 16) ?? []).toString()).to.equal('fghijklm');
  });

  it('appends a small batch after what it keeps', () => {
    const recent = new RecentBytes(8, 10);
    recent.appendAll([Buffer.from('ab'), Buffer.from('cd')]);
    recent.appendAll([Buffer.from('ef')]);
    expect(Buffer.concat(recent.read(10, 16) ?? []).toString()).to.equal('abcdef');
  });

  it('grows its ring with the bytes kept (a small resource holds a small ring), offsets right across every growth', () => {
    const capacity = 20_000;
    const recent = new RecentBytes(capacity, 7);
    const all: number[] = [];
    let seed = 1;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let step = 0; step < 200; step++) {
      const chunk = Buffer.from(Array.from({ length: random() % 700 }, () => random() % 256));
      if (step % 3 === 0) recent.appendAll([chunk, chunk.subarray(0, 5)]);
      else recent.append(chunk);
      all.push(...chunk, ...(step % 3 === 0 ? chunk.subarray(0, 5) : []));
      const end = 7 + all.length;
      const start = Math.max(7, end - Math.min(capacity, all.length));
      const from = start + (random() % (end - start + 1));
      expect(Buffer.concat(recent.read(from, end) ?? [Buffer.from('missing')]), `step ${step}`).to.deep.equal(
        Buffer.from(all.slice(from - 7)),
      );
    }
    expect(all.length).to.be.above(capacity);
  });
});
