import { expect } from 'chai';
import { scanNewlines, WASM_BASE64 } from './newline-scanner.js';

/** The obvious implementation: every newline, one by one. */
export function reference(data: Uint8Array, need: number, every: number): { total: number; found: number[] } {
  const found: number[] = [];
  let total = 0;
  let left = need;
  data.forEach((byte, at) => {
    if (byte !== 0x0a) return;
    total++;
    if (--left === 0) {
      found.push(at);
      left = every;
    }
  });
  return { total, found };
}

export function randomText(length: number, newlineOdds: number, seed: number): Buffer {
  let state = seed;
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state / 2 ** 32 < newlineOdds ? 0x0a : 0x20 + (state % 90);
  }
  return data;
}

describe('scanNewlines (WebAssembly SIMD)', () => {
  it('counts and locates like a byte-by-byte scan, across 16-byte blocks, tails and 64 KiB windows', () => {
    const cases: Array<[number, number, number, number]> = [
      // length, newline odds, need, every
      [0, 0.1, 1, 1],
      [15, 0.3, 1, 2],
      [17, 1, 3, 4],
      [1000, 0.05, 7, 5],
      [200_000, 0.01, 256, 256],
      [200_000, 0.5, 1, 3],
      [70_000, 0, 1, 1],
    ];
    for (const [length, odds, need, every] of cases) {
      const data = randomText(length, odds, length + need);
      const found: number[] = [];
      const total = scanNewlines(data, need, every, (at) => found.push(at));
      expect({ total, found }, `length ${length}, odds ${odds}`).to.deep.equal(reference(data, need, every));
    }
  });

  it('works on views that do not start at a buffer boundary', () => {
    const data = randomText(100_003, 0.02, 9).subarray(3);
    const found: number[] = [];
    expect(scanNewlines(data, 2, 2, (at) => found.push(at))).to.equal(reference(data, 2, 2).total);
    expect(found).to.deep.equal(reference(data, 2, 2).found);
  });
});

describe('newline-scanner module source', () => {
  it('embeds exactly what wabt makes of newline-scanner.wat (rebuild with `run build:wasm`)', async () => {
    const { default: wabtInit } = await import('wabt');
    const { readFile } = await import('node:fs/promises');
    // Tests run from dist/; the .wat source stays in src/.
    const source = await readFile(new URL('../../../src/core/lines/newline-scanner.wat', import.meta.url), 'utf8');
    const wabt = await wabtInit();
    const module = wabt.parseWat('newline-scanner.wat', source, { simd: true });
    try {
      expect(Buffer.from(module.toBinary({}).buffer).toString('base64')).to.equal(WASM_BASE64);
    } finally {
      module.destroy();
    }
  });
});
