import { Readable } from 'node:stream';
import { StorageFailureError } from '@spool/common';
import type { ReadLease } from './read-handle-cache.js';

/**
 * Bytes `[start, end)` of a file read through a borrowed handle ({@link ReadHandleCache}),
 * with positional reads of `chunkBytes` (one chunk read ahead of the consumer), so many
 * ranges of one file cost one open. The handle is given back when the stream ends or is
 * destroyed.
 */
export class FileRangeStream extends Readable {
  readonly #acquire: () => Promise<ReadLease>;
  readonly #end: number;
  readonly #chunkBytes: number;
  readonly #describe: string;
  #position: number;
  #lease: ReadLease | undefined;

  constructor(acquire: () => Promise<ReadLease>, range: { start: number; end: number; chunkBytes: number; describe: string }) {
    super({ highWaterMark: range.chunkBytes });
    this.#acquire = acquire;
    this.#position = range.start;
    this.#end = range.end;
    this.#chunkBytes = range.chunkBytes;
    this.#describe = range.describe;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.#acquire().then(
      (lease) => {
        this.#lease = lease;
        callback();
      },
      (error: Error) => callback(new StorageFailureError(`Cannot open ${this.#describe} for reading: ${error.message}`, error)),
    );
  }

  override _read(): void {
    const length = Math.min(this.#chunkBytes, this.#end - this.#position);
    const lease = this.#lease;
    if (length <= 0 || lease === undefined) {
      this.#lease?.release();
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(length);
    lease.handle.read(buffer, 0, length, this.#position).then(
      ({ bytesRead }) => {
        if (this.destroyed) return;
        if (bytesRead === 0) {
          this.destroy(new StorageFailureError(`${this.#describe} holds fewer bytes than ${this.#end}`));
          return;
        }
        this.#position += bytesRead;
        this.push(bytesRead < length ? buffer.subarray(0, bytesRead) : buffer);
      },
      (error: Error) => this.destroy(new StorageFailureError(`Reading ${this.#describe} failed: ${error.message}`, error)),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#lease?.release();
    callback(error);
  }
}
