import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const tuning = fileURLToPath(new URL('./malloc-tuning.js', import.meta.url));

/**
 * A fresh process (tuned or not) allocates 16 blocks of 1 MiB and prints how much its
 * brk heap grew: with glibc's default thresholds such blocks are mapped apart (and
 * unmapped when freed); once the thresholds are raised they come from the heap, whose
 * freed top is then kept.
 */
const PROBE = `
import { readFileSync } from 'node:fs';
const tuning = await import(process.argv[1]);
const heapBytes = () => {
  const line = readFileSync('/proc/self/maps', 'utf8').split('\\n').find((l) => l.endsWith('[heap]'));
  if (!line) return 0;
  const [start, end] = line.split(' ')[0].split('-').map((hex) => Number.parseInt(hex, 16));
  return end - start;
};
if (process.argv[2] === 'tuned') tuning.retainFreedMemory();
globalThis.gc();
await new Promise((resolve) => setTimeout(resolve, 100));
const before = heapBytes();
const blocks = [];
for (let i = 0; i < 16; i++) blocks.push(Buffer.allocUnsafeSlow(1024 * 1024).fill(i));
console.log(heapBytes() - before, blocks.length);
`;

async function heapGrowth(mode: 'tuned' | 'default'): Promise<number> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', PROBE, tuning, mode]);
  return Number(stdout.trim().split(' ')[0]);
}

describe('retainFreedMemory', function () {
  this.timeout(30_000);

  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  const glibc = process.platform === 'linux' && Boolean(report.header?.glibcVersionRuntime);

  it("raises glibc's malloc thresholds: 1 MiB blocks come from the heap, whose freed top is kept", async function () {
    if (!glibc) this.skip();
    expect(await heapGrowth('default')).to.be.lessThan(8 * 1024 * 1024);
    // Nearly all 16 MiB (free space the heap already had may take a little of it).
    expect(await heapGrowth('tuned')).to.be.at.least(12 * 1024 * 1024);
  });
});
