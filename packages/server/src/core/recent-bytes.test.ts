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
});
