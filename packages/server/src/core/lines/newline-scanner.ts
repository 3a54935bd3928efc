/**
 * Finds `\n` bytes 16 at a time with WebAssembly SIMD. The line indexer needs every
 * newline counted but only every LINE_INDEX_STRIDE-th located; a `Buffer.indexOf` call
 * per newline (~9 M per GiB of logs) cost the event loop ~0.5 s per GiB, this ~0.1 s.
 * Source: newline-scanner.wat beside this file; `pnpm --filter @spool/server run build:wasm`
 * rebuilds WASM_BASE64 from it with wabt (a unit test checks the two agree).
 */
export const WASM_BASE64 =
  'AGFzbQEAAAABCAFgA39/fwF/AwIBAAUDAQABBgYBfwFBAAsHGwMGbWVtb3J5AgAHY291bnRlZAMABHNjYW4AAAqzAQGwAQIDfwF7QQr9DyEGAkADQCAAQRBqIAFLDQEgAP0ABAAgBv0j/WQhBCAEaSEFIAMgBWogAk8EQANAIANBAWohAyADIAJGBEAgAyQAIAAgBGhqDwsgBCAEQQFrcSEEDAALCyADIAVqIQMgAEEQaiEADAALCwJAA0AgACABTw0BIAAtAABBCkYEQCADQQFqIQMgAyACRgRAIAMkACAADwsLIABBAWohAAwACwsgAyQAQX8L';

// The compiler's libraries here (ES2022, no DOM) do not declare WebAssembly: the part used.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
};

interface ScannerExports {
  memory: { buffer: ArrayBuffer };
  counted: { value: number };
  scan(start: number, end: number, need: number): number;
}

/** Bytes copied into the module's memory per step: its one 64 KiB page. */
const WINDOW_BYTES = 64 * 1024;

const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64')));
const wasm = instance.exports as unknown as ScannerExports;
const window = new Uint8Array(wasm.memory.buffer, 0, WINDOW_BYTES);

/**
 * Calls `found(at)` for the `need`-th newline of `data` and then for every
 * `every`-th after it (`at`: its index in `data`). Returns how many newlines `data`
 * holds. Synchronous: the module's memory is shared by every caller of the process.
 */
export function scanNewlines(data: Uint8Array, need: number, every: number, found: (at: number) => void): number {
  let total = 0;
  for (let base = 0; base < data.length; base += WINDOW_BYTES) {
    const length = Math.min(WINDOW_BYTES, data.length - base);
    window.set(data.subarray(base, base + length));
    let from = 0;
    for (;;) {
      const at = wasm.scan(from, length, need);
      const counted = wasm.counted.value;
      total += counted;
      if (at < 0) {
        need -= counted;
        break;
      }
      found(base + at);
      need = every;
      from = at + 1;
    }
  }
  return total;
}
