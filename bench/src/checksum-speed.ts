/**
 * `node bench/dist/checksum-speed.js [MiB]`: GiB/s of each checksum candidate on one core
 * (1 MiB updates, as the upload path hashes; default 1024 MiB each), for the choice of the
 * uploads' default checksum (docs/benchmarks.md, "Checksums"). Run it on a quiet machine.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Crc32 } from '@spool/common';
import { formatTable } from './table.js';

const CHUNK_BYTES = 1024 * 1024;
const totalMib = Number(process.argv[2] ?? 1024);
const chunk = randomBytes(CHUNK_BYTES);

/** GiB/s of `update` over `totalMib` MiB, after one warm-up update. */
function measure(update: (data: Buffer) => void): number {
  update(chunk);
  const start = process.hrtime.bigint();
  for (let i = 0; i < totalMib; i++) update(chunk);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return totalMib / 1024 / seconds;
}

const crc32 = new Crc32();
const candidates: [string, (data: Buffer) => void][] = [
  ['crc32 (node:zlib crc32, Spool’s Crc32)', (data) => crc32.update(data)],
  [
    'md5 (node:crypto)',
    (
      (hash) => (data: Buffer) =>
        hash.update(data)
    )(createHash('md5')),
  ],
  [
    'sha1 (node:crypto)',
    (
      (hash) => (data: Buffer) =>
        hash.update(data)
    )(createHash('sha1')),
  ],
  [
    'sha256 (node:crypto)',
    (
      (hash) => (data: Buffer) =>
        hash.update(data)
    )(createHash('sha256')),
  ],
];
const rows = candidates.map(([name, update]) => [name, measure(update).toFixed(2)]);
console.log(
  formatTable(
    [
      { header: 'algorithm', align: 'left' },
      { header: 'GiB/s (one core)', align: 'right' },
    ],
    rows,
  ),
);
