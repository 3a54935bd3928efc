import { expect } from 'chai';
import { pseudoRandomBytes } from './client-frame.testkit.js';
import { nativeUnmaskAvailable, unmaskInPlace, unmaskPortable } from './unmask.js';

function naiveUnmask(data: Buffer, mask: Buffer, phase: number): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] as number) ^ (mask[(phase + i) & 3] as number);
  return out;
}

describe('websocket unmask', () => {
  const mask = Buffer.from([0x12, 0x9c, 0xe7, 0x45]);
  const lengths = [0, 1, 3, 4, 5, 7, 8, 31, 32, 33, 64, 1000, 65_537];

  for (const [name, unmask] of [
    ['unmaskPortable', unmaskPortable],
    ['unmaskInPlace', unmaskInPlace],
  ] as const) {
    it(`${name} matches a byte-wise reference for every phase, alignment and length`, () => {
      let seed = 1;
      for (const length of lengths) {
        for (let alignment = 0; alignment < 4; alignment++) {
          for (let phase = 0; phase < 4; phase++) {
            const backing = pseudoRandomBytes(length + alignment, seed++);
            const data = backing.subarray(alignment); // unaligned views exercise the byte-wise edges
            const expected = naiveUnmask(data, mask, phase);
            unmask(data, mask, phase);
            expect(data.equals(expected), `length ${length} alignment ${alignment} phase ${phase}`).to.equal(true);
          }
        }
      }
    });
  }

  it('round-trips a payload unmasked in pieces with running phases', () => {
    const original = pseudoRandomBytes(10_007, 99);
    const masked = naiveUnmask(original, mask, 0);
    let offset = 0;
    for (const size of [1, 2, 3, 5, 33, 100, 4096, 5000]) {
      const end = Math.min(masked.length, offset + size);
      unmaskInPlace(masked.subarray(offset, end), mask, offset & 3);
      offset = end;
    }
    unmaskInPlace(masked.subarray(offset), mask, offset & 3);
    expect(masked.equals(original)).to.equal(true);
  });

  it('reports whether the bufferutil addon loaded', () => {
    expect(nativeUnmaskAvailable).to.be.a('boolean');
  });
});
