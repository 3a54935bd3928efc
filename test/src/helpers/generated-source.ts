/**
 * A large, reproducible upload source made on the fly: 1 MiB chunks of pseudo-random
 * bytes, each stamped with its index (a misplaced or repeated chunk changes the hash),
 * hashed with SHA-256 as they are handed out, so a test can compare without keeping them.
 */
import { createHash } from 'node:crypto';
import { seededRandom } from './cutting-proxy.js';

export const MIB = 1024 * 1024;

export class GeneratedSource implements AsyncIterable<Buffer> {
  private readonly hash = createHash('sha256');
  private readonly block: Buffer;
  /** Bytes handed out so far. */
  produced = 0;

  constructor(
    readonly totalBytes: number,
    seed: number,
    /** Called before chunk `index` (0-based) is handed out; may delay it. */
    private readonly beforeChunk?: (index: number) => Promise<void> | void,
  ) {
    const random = seededRandom(seed);
    this.block = Buffer.alloc(MIB);
    for (let i = 0; i < MIB; i += 4) this.block.writeUInt32LE(Math.floor(random() * 0x1_0000_0000), i);
  }

  /** SHA-256 of everything handed out (call once the source is exhausted). */
  get sha256(): string {
    return this.hash.copy().digest('hex');
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (let index = 0; this.produced < this.totalBytes; index++) {
      await this.beforeChunk?.(index);
      const length = Math.min(MIB, this.totalBytes - this.produced);
      const chunk = Buffer.from(this.block.subarray(0, length));
      chunk.writeUInt32LE(index, 0);
      this.hash.update(chunk);
      this.produced += length;
      yield chunk;
    }
  }
}

/** SHA-256 and length of a byte stream. */
export async function digestStream(stream: AsyncIterable<unknown>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}
