import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { chooseNewlineScanner, instantiateWasmScanner, type NewlineScanner, scanNewlinesJs, WASM_BASE64 } from './newline-scanner.js';

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

const wasmScanner = instantiateWasmScanner();
const scanners: Array<[string, NewlineScanner | undefined]> = [
  ['WebAssembly SIMD', wasmScanner],
  ['plain JS', scanNewlinesJs],
];

for (const [name, scanner] of scanners) {
  describe(`scanNewlines (${name})`, () => {
    // Node 20 has WebAssembly SIMD on every platform it supports: a missing one is a failure here.
    const scan = (...args: Parameters<NewlineScanner>) => {
      if (!scanner) throw new Error(`${name} scanner did not instantiate`);
      return scanner(...args);
    };

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
        const total = scan(data, need, every, (at) => found.push(at));
        expect({ total, found }, `length ${length}, odds ${odds}`).to.deep.equal(reference(data, need, every));
      }
    });

    it('works on views that do not start at a buffer boundary, Buffer or plain Uint8Array', () => {
      const text = randomText(100_003, 0.02, 9);
      for (const data of [text.subarray(3), new Uint8Array(text.buffer, text.byteOffset + 3, text.length - 3)]) {
        const found: number[] = [];
        expect(scan(data, 2, 2, (at) => found.push(at))).to.equal(reference(data, 2, 2).total);
        expect(found).to.deep.equal(reference(data, 2, 2).found);
      }
    });
  });
}

describe('newline scanner choice', () => {
  const notCalled = () => {
    throw new Error('the WebAssembly module was instantiated');
  };

  it('uses WebAssembly SIMD by default where it instantiates, plain JS where it does not', () => {
    expect(chooseNewlineScanner(undefined).kind).to.equal('wasm');
    expect(chooseNewlineScanner('auto').kind).to.equal('wasm');
    expect(chooseNewlineScanner(undefined, () => undefined)).to.deep.equal({ kind: 'js', scan: scanNewlinesJs });
  });

  it('SPOOL_NEWLINE_SCANNER=js forces plain JS; another value is refused by name', () => {
    expect(chooseNewlineScanner('js', notCalled)).to.deep.equal({ kind: 'js', scan: scanNewlinesJs });
    expect(() => chooseNewlineScanner('simd', notCalled)).to.throw(/SPOOL_NEWLINE_SCANNER must be auto or js, got "simd"/);
  });

  /** What a fresh process makes of the module: its scanner kind and a count. */
  function inFreshProcess(nodeArgs: string[], env: NodeJS.ProcessEnv): { kind: string; total: number } {
    const module = new URL('./newline-scanner.js', import.meta.url).href;
    const script = `const m = await import(${JSON.stringify(module)}); const found = [];
      const total = m.scanNewlines(Buffer.from('a\\nb\\nc\\nd'), 2, 1, (at) => found.push(at));
      console.log(JSON.stringify({ kind: m.newlineScannerKind, total, found }));`;
    const out = execFileSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const result = JSON.parse(out) as { kind: string; total: number; found: number[] };
    expect(result.found).to.deep.equal([3, 5]);
    return { kind: result.kind, total: result.total };
  }

  it('falls back to plain JS in a process without WebAssembly (node --jitless)', () => {
    expect(inFreshProcess(['--jitless'], { SPOOL_NEWLINE_SCANNER: '' })).to.deep.equal({ kind: 'js', total: 3 });
  });

  it('reads SPOOL_NEWLINE_SCANNER from the environment', () => {
    expect(inFreshProcess([], { SPOOL_NEWLINE_SCANNER: 'js' })).to.deep.equal({ kind: 'js', total: 3 });
    expect(inFreshProcess([], { SPOOL_NEWLINE_SCANNER: '' })).to.deep.equal({ kind: 'wasm', total: 3 });
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
