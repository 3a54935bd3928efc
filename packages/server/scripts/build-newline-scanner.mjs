// Rebuilds WASM_BASE64 in src/core/lines/newline-scanner.ts from newline-scanner.wat
// (wabt's wat2wasm, SIMD on). Run: pnpm --filter @spool/server run build:wasm
import { readFileSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

const source = new URL('../src/core/lines/newline-scanner.wat', import.meta.url);
const target = new URL('../src/core/lines/newline-scanner.ts', import.meta.url);
const wabt = await wabtInit();
const module = wabt.parseWat('newline-scanner.wat', readFileSync(source, 'utf8'), { simd: true });
const base64 = Buffer.from(module.toBinary({}).buffer).toString('base64');
module.destroy();
const ts = readFileSync(target, 'utf8');
const updated = ts.replace(/export const WASM_BASE64 =\n {2}'[A-Za-z0-9+/=]*';/, `export const WASM_BASE64 =\n  '${base64}';`);
if (!updated.includes(base64)) throw new Error('WASM_BASE64 not found in newline-scanner.ts');
writeFileSync(target, updated);
console.log(`newline-scanner.ts: ${base64.length} base64 characters`);
