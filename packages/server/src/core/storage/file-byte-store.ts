import { promises as fs, writevSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { StorageFailureError } from '@spool/common';
import type { ByteStore, ByteWriter, WriterOptions } from './byte-store.js';
import { DEFAULT_DATA_DIR_MODE, DEFAULT_DATA_FILE_MODE } from './file-modes.js';
import { FileRangeStream } from './file-range-stream.js';
import { ReadHandleCache } from './read-handle-cache.js';

/** Resource ids become file names: keep them to a safe alphabet. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** `id` as a file name, or STORAGE_FAILURE for an id that is not a safe one. */
export function safeFileName(id: string): string {
  if (!SAFE_ID.test(id)) throw new StorageFailureError(`Invalid resource id for file storage: ${JSON.stringify(id)}`);
  return id;
}
/**
 * Appends up to this size are written on the event loop’s thread (local files store only): copying a few KiB into
 * the page cache takes microseconds, less than the thread-pool round trip (two thread
 * wake-ups and an event-loop wake-up) that an async write costs — for small live writes
 * the largest fixed cost per write. Larger batches (fast uploads) still go to the pool.
 */
const WRITE_ON_LOOP_MAX_BYTES = 16 * 1024;

/** Read size of range streams: 1 MiB, what a push piece is (fewer reads and wakeups per byte). */
const RANGE_READ_BYTES = 1024 * 1024;

/**
 * Appends to one file. The file may hold the resource from offset `base` on (a segment of
 * the shared-directory store); offsets given and reported are the resource's.
 */
export class FileByteWriter implements ByteWriter {
  private closed = false;
  constructor(
    private readonly handle: fs.FileHandle,
    private written: number,
    private readonly base = 0,
    /** Small appends on the loop: for a local disk only (a network file system may block far longer). */
    private readonly smallWritesOnLoop = false,
  ) {}

  get size(): number {
    return this.written;
  }

  async append(chunks: readonly Buffer[]): Promise<void> {
    if (this.closed) throw new StorageFailureError('Writer is closed');
    let expected = 0;
    for (const c of chunks) expected += c.length;
    // writev may write partially: loop until every byte is in, at explicit positions so
    // the file never depends on the handle's own cursor.
    let pending = chunks.slice();
    let remaining = expected;
    while (remaining > 0) {
      const position = this.written - this.base;
      const bytesWritten =
        this.smallWritesOnLoop && remaining <= WRITE_ON_LOOP_MAX_BYTES
          ? writevSync(this.handle.fd, pending, position)
          : (await this.handle.writev(pending, position)).bytesWritten;
      this.written += bytesWritten;
      remaining -= bytesWritten;
      if (remaining > 0) pending = dropBytes(pending, bytesWritten);
    }
  }

  async sync(): Promise<void> {
    await this.handle.datasync();
  }

  async truncate(size: number): Promise<void> {
    if (this.closed) throw new StorageFailureError('Writer is closed');
    await this.handle.truncate(size - this.base);
    this.written = size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

export function dropBytes(chunks: readonly Buffer[], count: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = count;
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    out.push(skip > 0 ? c.subarray(skip) : c);
    skip = 0;
  }
  return out;
}

export interface FileByteStoreOptions {
  /** Read handles kept open for reuse by reads and range streams; 0 opens and closes per read. */
  readHandles?: number;
  /** Mode of every resource file (default 0600). */
  fileMode?: number;
  /** Mode of the `blobs/` directory (default 0700). */
  dirMode?: number;
}

/** Default size of the read-handle cache: a handful of hot resources, far below fd limits. */
export const DEFAULT_READ_HANDLES = 64;

/** The embedded byte store: one file per resource under `<dataDir>/blobs`. */
export class FileByteStore implements ByteStore {
  private readonly dir: string;
  private ready: Promise<void> | undefined;
  private readonly handles: ReadHandleCache;
  private readonly fileMode: number;
  private readonly dirMode: number;

  constructor(dataDir: string, options: FileByteStoreOptions = {}) {
    this.dir = path.join(dataDir, 'blobs');
    this.handles = new ReadHandleCache(options.readHandles ?? DEFAULT_READ_HANDLES);
    this.fileMode = options.fileMode ?? DEFAULT_DATA_FILE_MODE;
    this.dirMode = options.dirMode ?? DEFAULT_DATA_DIR_MODE;
  }

  private pathOf(id: string): string {
    return path.join(this.dir, safeFileName(id));
  }

  private ensureDir(): Promise<void> {
    // Exactly dirMode, also for a directory an older version created world-readable.
    this.ready ??= fs.mkdir(this.dir, { recursive: true, mode: this.dirMode }).then(() => fs.chmod(this.dir, this.dirMode));
    return this.ready;
  }

  async openWriter(id: string, options: WriterOptions = {}): Promise<ByteWriter> {
    await this.ensureDir();
    const file = this.pathOf(id);
    try {
      const handle = await fs.open(file, 'a+', this.fileMode);
      let { size, mode } = await handle.stat();
      // The umask may have narrowed a new file, and an older version made files world-readable.
      if ((mode & 0o777) !== this.fileMode) await handle.chmod(this.fileMode);
      if (options.at !== undefined && size > options.at) {
        await handle.truncate(options.at);
        size = options.at;
      }
      return new FileByteWriter(handle, size, 0, true);
    } catch (err) {
      throw new StorageFailureError(`Cannot open ${file} for writing: ${(err as Error).message}`, err);
    }
  }

  async size(id: string): Promise<number> {
    try {
      return (await fs.stat(this.pathOf(id))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new StorageFailureError(`Cannot stat resource ${id}: ${(err as Error).message}`, err);
    }
  }

  createReadStream(id: string, start: number, end: number): Readable {
    if (end <= start) {
      // createReadStream's `end` is inclusive and cannot express an empty range.
      return Readable.from([]);
    }
    const file = this.pathOf(id);
    return new FileRangeStream(() => this.handles.lease(id, file), {
      start,
      end,
      chunkBytes: RANGE_READ_BYTES,
      describe: `resource ${id}`,
    });
  }

  async read(id: string, start: number, end: number): Promise<Buffer> {
    const length = Math.max(0, end - start);
    const buffer = Buffer.allocUnsafe(length);
    if (length === 0) return buffer;
    return this.handles.use(id, this.pathOf(id), async (handle) => {
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled);
        if (bytesRead === 0) throw new StorageFailureError(`Resource ${id} holds fewer bytes than ${end}`);
        filled += bytesRead;
      }
      return buffer;
    });
  }

  async truncate(id: string, size: number): Promise<void> {
    await fs.truncate(this.pathOf(id), size).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw new StorageFailureError(`Cannot truncate ${id}: ${err.message}`, err);
    });
  }

  async delete(id: string): Promise<void> {
    const file = this.pathOf(id);
    await this.handles.forget(id);
    await fs.rm(file, { force: true });
  }

  async close(): Promise<void> {
    await this.handles.close();
  }
}
