/**
 * Finds `\n` bytes 16 at a time with WebAssembly SIMD. The line indexer needs every
 * newline counted but only every LINE_INDEX_STRIDE-th located; a `Buffer.indexOf` call
 * per newline (~9 M per GiB of logs) cost the event loop ~0.5 s per GiB, this ~0.1 s.
 * Where the module cannot be instantiated (no WebAssembly, as under `node --jitless`, or
 * no SIMD), or `SPOOL_NEWLINE_SCANNER=js` asks for it, the plain-JS scanner takes over,
 * with the same results.
 * Source: newline-scanner.wat beside this file; `pnpm --filter @spool/server run build:wasm`
 * rebuilds WASM_BASE64 from it with wabt (a unit test checks the two agree).
 */
export const WASM_BASE64 =
  'AGFzbQEAAAABCAFgA39/fwF/AwIBAAUDAQABBgYBfwFBAAsHGwMGbWVtb3J5AgAHY291bnRlZAMABHNjYW4AAAqzAQGwAQIDfwF7QQr9DyEGAkADQCAAQRBqIAFLDQEgAP0ABAAgBv0j/WQhBCAEaSEFIAMgBWogAk8EQANAIANBAWohAyADIAJGBEAgAyQAIAAgBGhqDwsgBCAEQQFrcSEEDAALCyADIAVqIQMgAEEQaiEADAALCwJAA0AgACABTw0BIAAtAABBCkYEQCADQQFqIQMgAyACRgRAIAMkACAADwsLIABBAWohAAwACwsgAyQAQX8L';

// The compiler's libraries here (ES2022, no DOM) do not declare WebAssembly: the part used.
declare const WebAssembly:
  | {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object) => { exports: unknown };
    }
  | undefined;

interface ScannerExports {
  memory: { buffer: ArrayBuffer };
  counted: { value: number };
  scan(start: number, end: number, need: number): number;
}

/**
 * Calls `found(at)` for the `need`-th newline of `data` and then for every `every`-th
 * after it (`at`: its index in `data`). Returns how many newlines `data` holds.
 */
export type NewlineScanner = (data: Uint8Array, need: number, every: number, found: (at: number) => void) => number;

export type NewlineScannerKind = 'wasm' | 'js';

const NEWLINE = 0x0a;
/** Bytes copied into the module's memory per step: its one 64 KiB page. */
const WINDOW_BYTES = 64 * 1024;

/** The plain-JS scanner: one `indexOf` (memchr) per newline, a few times slower than SIMD. */
export const scanNewlinesJs: NewlineScanner = (data, need, every, found) => {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let total = 0;
  let left = need;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) {
    total++;
    if (--left === 0) {
      found(at);
      left = every;
    }
  }
  return total;
};

/**
 * The WebAssembly SIMD scanner, or undefined where the module cannot be instantiated.
 * Synchronous: the module's memory is shared by every caller of the process.
 */
export function instantiateWasmScanner(): NewlineScanner | undefined {
  if (typeof WebAssembly === 'undefined') return undefined;
  let wasm: ScannerExports;
  try {
    wasm = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'))).exports as ScannerExports;
  } catch {
    return undefined;
  }
  const window = new Uint8Array(wasm.memory.buffer, 0, WINDOW_BYTES);
  return (data, need, every, found) => {
    let total = 0;
    let left = need;
    for (let base = 0; base < data.length; base += WINDOW_BYTES) {
      const length = Math.min(WINDOW_BYTES, data.length - base);
      window.set(data.subarray(base, base + length));
      let from = 0;
      for (;;) {
        const at = wasm.scan(from, length, left);
        const counted = wasm.counted.value;
        total += counted;
        if (at < 0) {
          left -= counted;
          break;
        }
        found(base + at);
        left = every;
        from = at + 1;
      }
    }
    return total;
  };
}

/**
 * The scanner for `setting` (SPOOL_NEWLINE_SCANNER): `auto` (or unset) is WebAssembly
 * SIMD where it instantiates, else plain JS; `js` is plain JS.
 */
export function chooseNewlineScanner(
  setting: string | undefined,
  instantiate: () => NewlineScanner | undefined = instantiateWasmScanner,
): { kind: NewlineScannerKind; scan: NewlineScanner } {
  if (setting === 'js') return { kind: 'js', scan: scanNewlinesJs };
  if (setting !== undefined && setting !== '' && setting !== 'auto') {
    throw new Error(`SPOOL_NEWLINE_SCANNER must be auto or js, got ${JSON.stringify(setting)}`);
  }
  const wasm = instantiate();
  return wasm ? { kind: 'wasm', scan: wasm } : { kind: 'js', scan: scanNewlinesJs };
}

// Chosen once per process: the scanner is process-wide, as the module's memory is.
const chosen = chooseNewlineScanner(process.env.SPOOL_NEWLINE_SCANNER);
/** Which scanner this process counts newlines with. */
export const newlineScannerKind: NewlineScannerKind = chosen.kind;
export const scanNewlines: NewlineScanner = chosen.scan;
