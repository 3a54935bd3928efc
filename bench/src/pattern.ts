import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { type ChecksumAlgorithm, type Checksums, Crc32 } from '@spool/common';

/**
 * Length of one period of the pattern: 2^20 − 8. Not a divisor of any power-of-two chunk
 * size, so a shifted stream never matches; a multiple of 8, so slices at 1 MiB offsets are
 * 8-byte aligned like the buffers a file read returns (unaligned views are much slower to
 * copy into a SharedArrayBuffer, which would penalise the SDK's off-thread hashing for an
 * artefact of the benchmark).
 */
export const PATTERN_PERIOD_BYTES = 1_048_568;
/** Largest slice handed out or compared at once. */
export const PATTERN_WINDOW_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;

/**
 * The benchmark's data: log-like text lines repeating with a fixed period, generated on
 * the fly (no source file is needed). Any byte range is a view into a small reference
 * buffer, so producing data costs nothing, and checking received bytes against their
 * offset is one memcmp per window — a wrong, shifted or truncated stream cannot pass.
 */
export class Pattern {
  /** The period, repeated to cover any window starting anywhere in a period. */
  readonly #reference: Buffer;
  /** Newlines within the first `i` bytes of one period, for i in [0, period]. */
  readonly #newlinesBefore: Uint32Array;
  /** Offsets of the newlines within one period. */
  readonly #newlineOffsets: Uint32Array;
  readonly #md5Cache = new Map<number, string>();
  readonly #checksumCache = new Map<string, string>();

  constructor() {
    const period = buildPeriod(PATTERN_PERIOD_BYTES);
    this.#reference = Buffer.allocUnsafe(PATTERN_PERIOD_BYTES + PATTERN_WINDOW_BYTES);
    for (let at = 0; at < this.#reference.length; at += period.length) period.copy(this.#reference, at);
    this.#newlinesBefore = new Uint32Array(PATTERN_PERIOD_BYTES + 1);
    const newlineOffsets: number[] = [];
    for (let i = 0; i < PATTERN_PERIOD_BYTES; i++) {
      this.#newlinesBefore[i + 1] = (this.#newlinesBefore[i] as number) + (period[i] === NEWLINE ? 1 : 0);
      if (period[i] === NEWLINE) newlineOffsets.push(i);
    }
    this.#newlineOffsets = Uint32Array.from(newlineOffsets);
  }

  /** Offset of the `index`-th newline (0-based) of the stream. */
  newlineOffset(index: number): number {
    const perPeriod = this.#newlineOffsets.length;
    return Math.floor(index / perPeriod) * PATTERN_PERIOD_BYTES + (this.#newlineOffsets[index % perPeriod] as number);
  }

  /** Lines `[start, start + count)` of the stream, without their "\n" (the lines are ASCII). */
  linesAt(start: number, count: number): string[] {
    const lines: string[] = [];
    let offset = start === 0 ? 0 : this.newlineOffset(start - 1) + 1;
    for (let index = start; index < start + count; index++) {
      const end = this.newlineOffset(index);
      lines.push(this.slice(offset, end - offset).toString('latin1')); // lines are far shorter than a window
      offset = end + 1;
    }
    return lines;
  }

  /** Bytes `[offset, offset + length)` of the stream, as a read-only view (length ≤ 1 MiB). */
  slice(offset: number, length: number): Buffer {
    if (length > PATTERN_WINDOW_BYTES) throw new RangeError(`Pattern slices are at most ${PATTERN_WINDOW_BYTES} bytes, asked ${length}`);
    const phase = offset % PATTERN_PERIOD_BYTES;
    return this.#reference.subarray(phase, phase + length);
  }

  /** The first `total` bytes as views of `chunkBytes` (≤ 1 MiB). */
  *chunks(total: number, chunkBytes: number): Generator<Buffer> {
    for (let offset = 0; offset < total; offset += chunkBytes) {
      yield this.slice(offset, Math.min(chunkBytes, total - offset));
    }
  }

  /** True if `bytes` are exactly the stream's bytes starting at `offset`. */
  matches(offset: number, bytes: Buffer): boolean {
    for (let at = 0; at < bytes.length; at += PATTERN_WINDOW_BYTES) {
      const length = Math.min(PATTERN_WINDOW_BYTES, bytes.length - at);
      if (!bytes.subarray(at, at + length).equals(this.slice(offset + at, length))) return false;
    }
    return true;
  }

  /** Lowercase hex MD5 of the first `total` bytes (computed once per size). */
  md5(total: number): string {
    let digest = this.#md5Cache.get(total);
    if (digest === undefined) {
      const hash = createHash('md5');
      for (const chunk of this.chunks(total, PATTERN_WINDOW_BYTES)) hash.update(chunk);
      digest = hash.digest('hex');
      this.#md5Cache.set(total, digest);
    }
    return digest;
  }

  /** The checksums Spool reports for the first `total` bytes (hex; computed once per size and algorithm). */
  checksums(total: number, algorithms: readonly ChecksumAlgorithm[]): Checksums {
    const out: Checksums = {};
    for (const algorithm of algorithms) {
      const key = `${algorithm}:${total}`;
      let digest = this.#checksumCache.get(key);
      if (digest === undefined) {
        if (algorithm === 'md5') digest = this.md5(total);
        else {
          const hash = algorithm === 'crc32' ? new Crc32() : createHash(algorithm);
          for (const chunk of this.chunks(total, PATTERN_WINDOW_BYTES)) hash.update(chunk);
          digest = hash instanceof Crc32 ? hash.hex() : hash.digest('hex');
        }
        this.#checksumCache.set(key, digest);
      }
      out[algorithm] = digest;
    }
    return out;
  }

  /** Line count Spool reports for the first `total` bytes of a completed resource (a last unterminated line counts). */
  lines(total: number): number {
    const periods = Math.floor(total / PATTERN_PERIOD_BYTES);
    const rest = total % PATTERN_PERIOD_BYTES;
    const newlines = periods * (this.#newlinesBefore[PATTERN_PERIOD_BYTES] as number) + (this.#newlinesBefore[rest] as number);
    const lastByte = total > 0 ? this.slice(total - 1, 1)[0] : NEWLINE;
    return newlines + (lastByte === NEWLINE ? 0 : 1);
  }

  /** Writes the first `total` bytes to `path`. */
  async writeFile(path: string, total: number): Promise<void> {
    const handle = await fs.open(path, 'w');
    try {
      for (const chunk of this.chunks(total, PATTERN_WINDOW_BYTES)) await handle.write(chunk);
    } finally {
      await handle.close();
    }
  }

  /** Reads `path` back and checks it holds exactly the first `total` bytes. */
  async verifyFile(path: string, total: number): Promise<FileCheck> {
    let offset = 0;
    let matches = true;
    for await (const chunk of createReadStream(path, { highWaterMark: PATTERN_WINDOW_BYTES })) {
      const bytes = chunk as Buffer;
      if (matches && !this.matches(offset, bytes)) matches = false;
      offset += bytes.length;
    }
    return { size: offset, ok: matches && offset === total };
  }
}

export interface FileCheck {
  size: number;
  ok: boolean;
}

/** One period of log-like lines (varying lengths), cut to `length` bytes. */
function buildPeriod(length: number): Buffer {
  const lines: string[] = [];
  let bytes = 0;
  const levels = ['INFO ', 'DEBUG', 'WARN ', 'INFO ', 'TRACE'];
  for (let i = 0; bytes < length; i++) {
    const level = levels[i % levels.length] as string;
    const padding = 'x'.repeat((i * 37) % 90);
    const line = `2026-03-01T12:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z ${level} [worker-${i % 8}] step ${i}: processed item ${i * 7919} ${padding}\n`;
    lines.push(line);
    bytes += line.length;
  }
  return Buffer.from(lines.join(''), 'latin1').subarray(0, length);
}
