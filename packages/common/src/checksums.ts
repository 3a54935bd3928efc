import * as zlib from 'node:zlib';

/**
 * The checksums a resource may carry. `crc32` (CRC-32/ISO-HDLC, as zlib, gzip and S3's
 * `x-amz-checksum-crc32`) keeps up with the disk on one core (≈ 4 GiB/s here, see
 * docs/benchmarks.md) and is the default of Spool's protocol, HTTP and tus; `md5` (the
 * Step protocol's, ≈ 0.5 GiB/s, cannot be split across threads) and `sha256` are asked for.
 */
export const CHECKSUM_ALGORITHMS = ['crc32', 'md5', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** A resource's checksums, each as lowercase hex (CRC-32: 8 digits, big-endian). */
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;

/** The default of Spool's own protocol, HTTP and tus. */
export const DEFAULT_CHECKSUMS: readonly ChecksumAlgorithm[] = ['crc32'];

const HEX_LENGTH: Record<ChecksumAlgorithm, number> = { crc32: 8, md5: 32, sha256: 64 };

export function isChecksumAlgorithm(value: string): value is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(value);
}

/**
 * A choice as users write it (`crc32,md5`, `none`): the algorithms in canonical order,
 * none for `none`. Throws a TypeError naming what is wrong.
 */
export function parseChecksumChoice(value: string): ChecksumAlgorithm[] {
  const asked = value
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== '');
  if (asked.length === 1 && asked[0] === 'none') return [];
  const unknown = asked.filter((name) => !isChecksumAlgorithm(name));
  if (asked.length === 0 || unknown.length > 0) {
    throw new TypeError(`checksum must be none or a list of ${CHECKSUM_ALGORITHMS.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return CHECKSUM_ALGORITHMS.filter((name) => asked.includes(name));
}

/** Whether `hex` has the form of a checksum of `algorithm` (hex digits, either case). */
export function isChecksumHex(algorithm: ChecksumAlgorithm, hex: string): boolean {
  return hex.length === HEX_LENGTH[algorithm] && /^[0-9a-fA-F]+$/.test(hex);
}

/** The checksum's bytes, base64 (HTTP digest fields, `Upload-Checksum`, S3). */
export function checksumHexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** Lowercase hex of base64 digest bytes; undefined unless they are `algorithm`'s length. */
export function checksumBase64ToHex(algorithm: ChecksumAlgorithm, base64: string): string | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined;
  const hex = Buffer.from(base64, 'base64').toString('hex');
  return hex.length === HEX_LENGTH[algorithm] ? hex : undefined;
}

/** Checksums that disagree with `expected` (algorithms both have), as [algorithm, expected, actual]. */
export function checksumMismatches(expected: Checksums, actual: Checksums): [ChecksumAlgorithm, string, string][] {
  const out: [ChecksumAlgorithm, string, string][] = [];
  for (const name of CHECKSUM_ALGORITHMS) {
    const want = expected[name];
    const got = actual[name];
    if (want !== undefined && got !== undefined && want.toLowerCase() !== got) out.push([name, want, got]);
  }
  return out;
}

let table: Uint32Array | undefined;

/** CRC-32 by table, for Node versions before 20.15 (no `zlib.crc32`): correct, ~10× slower. */
function crc32Table(data: Uint8Array, value: number): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (const byte of data) crc = (table[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

type Crc32Function = (data: Uint8Array, value: number) => number;
const crc32: Crc32Function = (zlib as { crc32?: Crc32Function }).crc32 ?? crc32Table;

/** An incremental CRC-32 (node:zlib's, hardware-accelerated): cheap enough to run inline. */
export class Crc32 {
  private value = 0;

  update(data: Uint8Array): this {
    this.value = crc32(data, this.value);
    return this;
  }

  /** 8 lowercase hex digits. */
  hex(): string {
    return this.value.toString(16).padStart(8, '0');
  }
}
