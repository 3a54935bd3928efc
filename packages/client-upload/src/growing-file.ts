import { type FileHandle, open } from 'node:fs/promises';
import { UploadAbortedError } from '@spool/common';
import type { CompletableSource } from './types.js';

export interface GrowingFileOptions {
  /** How often to look for new bytes once the end of the file is reached (default 250 ms). */
  pollIntervalMs?: number;
  /** Largest chunk read at once (default 256 KiB); bounds memory per read. */
  chunkBytes?: number;
  /** How long the file may not exist yet before iteration fails (default 30 s). */
  waitForFileMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 250;
const DEFAULT_CHUNK_BYTES = 256 * 1024;
const DEFAULT_WAIT_FOR_FILE_MS = 30_000;

/**
 * A local file that is still being written (a build log, a trace), read as it grows:
 * it yields the bytes present, then polls for more until {@link complete} is called,
 * and then drains to the final end of the file. Use it as an upload source; the upload's
 * `complete()` calls `complete()` here.
 *
 * The file may appear a little after iteration starts (see `waitForFileMs`). It must
 * only grow: a file that shrinks (truncated, rotated in place) fails the iteration.
 * One iteration per instance.
 */
export class GrowingFile implements AsyncIterable<Buffer>, CompletableSource {
  readonly path: string;
  readonly #pollIntervalMs: number;
  readonly #chunkBytes: number;
  readonly #waitForFileMs: number;
  #completeRequested = false;
  #abortReason: Error | undefined;
  #wakeUp: (() => void) | undefined;
  #iterated = false;
  #bytesRead = 0;

  constructor(path: string, options: GrowingFileOptions = {}) {
    this.path = path;
    this.#pollIntervalMs = positiveInteger('pollIntervalMs', options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    this.#chunkBytes = positiveInteger('chunkBytes', options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    this.#waitForFileMs = options.waitForFileMs ?? DEFAULT_WAIT_FOR_FILE_MS;
  }

  /** Bytes read from the file so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** True once {@link complete} was called. */
  get completeRequested(): boolean {
    return this.#completeRequested;
  }

  /** The writer is done: read to the file's end as it is now (or soon after), then end. */
  complete(): void {
    this.#completeRequested = true;
    this.#wake();
  }

  /** Stops reading at once; the iteration rejects with `reason` (an UploadAbortedError by default). */
  abort(reason?: unknown): void {
    if (this.#abortReason) return;
    this.#abortReason =
      reason instanceof Error
        ? reason
        : new UploadAbortedError(`Reading ${this.path} was aborted${reason === undefined ? '' : `: ${String(reason)}`}`);
    this.#wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.#iterated) throw new Error(`GrowingFile ${this.path} can be iterated only once`);
    this.#iterated = true;
    return this.#read();
  }

  async *#read(): AsyncGenerator<Buffer> {
    const file = await this.#openWhenItExists();
    try {
      // One read buffer, reused: a full read is handed out as is (and replaced), a partial
      // one is copied out, so a trickle of small appends never pins big buffers.
      let buffer = Buffer.allocUnsafe(this.#chunkBytes);
      let position = 0;
      for (;;) {
        this.#throwIfAborted();
        // Sampled *before* reading: if the writer finished before this read, a read that
        // finds nothing new really is the end; otherwise bytes may still land after it.
        const completeBeforeRead = this.#completeRequested;
        const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
        this.#throwIfAborted();
        if (bytesRead > 0) {
          position += bytesRead;
          this.#bytesRead = position;
          if (bytesRead === buffer.length) {
            const full = buffer;
            buffer = Buffer.allocUnsafe(this.#chunkBytes);
            yield full;
          } else {
            yield Buffer.from(buffer.subarray(0, bytesRead));
          }
          continue;
        }
        if (completeBeforeRead) return;
        const { size } = await file.stat();
        if (size < position) {
          throw new UploadAbortedError(`${this.path} shrank from ${position} to ${size} bytes while being uploaded`, {
            path: this.path,
            position,
            size,
          });
        }
        await this.#sleep(this.#pollIntervalMs);
      }
    } finally {
      await file.close();
    }
  }

  async #openWhenItExists(): Promise<FileHandle> {
    const deadline = Date.now() + this.#waitForFileMs;
    for (;;) {
      this.#throwIfAborted();
      try {
        return await open(this.path, 'r');
      } catch (err) {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        // A writer that declared itself complete without ever creating the file is an error too.
        if (!missing || this.#completeRequested || Date.now() >= deadline) throw err;
      }
      await this.#sleep(Math.min(this.#pollIntervalMs, Math.max(0, deadline - Date.now())));
    }
  }

  #throwIfAborted(): void {
    if (this.#abortReason) throw this.#abortReason;
  }

  #wake(): void {
    const wakeUp = this.#wakeUp;
    this.#wakeUp = undefined;
    wakeUp?.();
  }

  /** Waits `ms`, or less if complete() or abort() is called meanwhile. */
  #sleep(ms: number): Promise<void> {
    if (this.#completeRequested || this.#abortReason) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeUp = undefined;
        resolve();
      }, ms);
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Tails a file that is still being written; see {@link GrowingFile}. */
export function growingFile(path: string, options?: GrowingFileOptions): GrowingFile {
  return new GrowingFile(path, options);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
