import { promises as fs } from 'node:fs';
import { LruMap } from '../lru-map.js';

interface CachedHandle {
  /** Shared by every read that starts while the file is opening: one open per key. */
  readonly opening: Promise<fs.FileHandle>;
  /** Reads using the handle now; it is closed only once this is 0. */
  users: number;
  /** Out of the cache (evicted, deleted, cache closed): close when the last user leaves. */
  retired: boolean;
}

async function closeQuietly(opening: Promise<fs.FileHandle>): Promise<void> {
  // A handle that failed to open has nothing to close; a close error leaves nothing to do.
  await opening.then((handle) => handle.close()).catch(() => undefined);
}

/** A handle lent to one reader; `release()` once done (idempotent). */
export interface ReadLease {
  readonly handle: fs.FileHandle;
  release(): void;
}

function leaseOf(handle: fs.FileHandle, onRelease: () => void): ReadLease {
  let released = false;
  return {
    handle,
    release: () => {
      if (released) return;
      released = true;
      onRelease();
    },
  };
}

/**
 * A bounded LRU of read-only file handles, so small reads (line pages) and range after
 * range (followers, Step chunk requests) do not pay an open and a close each. Handles
 * are positional-read only, so any number of reads may share one, and a file being
 * appended to shows its new bytes through an open handle.
 * A handle leaves the cache when it is the least recently used one beyond `capacity`,
 * when its file is forgotten (deleted) or when the cache closes; it is closed
 * once the reads using it finish. At most `capacity` idle handles stay open.
 */
export class ReadHandleCache {
  /** Map order is the LRU order: the first key is the least recently used. */
  private readonly entries = new LruMap<string, CachedHandle>();
  private closed = false;

  constructor(private readonly capacity: number) {}

  /** Open handles held for reuse (in use or idle), for tests and diagnostics. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether a handle for `key` is held. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Runs `read` with a handle on `file` (cached under `key`), opened read-only if needed. */
  async use<T>(key: string, file: string, read: (handle: fs.FileHandle) => Promise<T>): Promise<T> {
    const lease = await this.lease(key, file);
    try {
      return await read(lease.handle);
    } finally {
      lease.release();
    }
  }

  /**
   * Lends a handle on `file` (cached under `key`) until `release()`: for readers that
   * read many times (range streams). Positional reads only.
   */
  async lease(key: string, file: string): Promise<ReadLease> {
    if (this.closed || this.capacity === 0) {
      const handle = await fs.open(file, 'r');
      return leaseOf(handle, () => void handle.close().catch(() => undefined));
    }
    const entry = this.acquire(key, file);
    entry.users++;
    let handle: fs.FileHandle;
    try {
      handle = await entry.opening;
    } catch (error) {
      this.leave(entry);
      throw error;
    }
    return leaseOf(handle, () => this.leave(entry));
  }

  private leave(entry: CachedHandle): void {
    entry.users--;
    if (entry.retired && entry.users === 0) void closeQuietly(entry.opening);
  }

  /** Drops the handle of `key` (its file was deleted): later reads open the file anew. */
  async forget(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) await this.retire(key, entry);
  }

  /** Closes every idle handle; handles in use close when their reads finish. Later reads open per call. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.entries].map(([key, entry]) => this.retire(key, entry)));
  }

  private acquire(key: string, file: string): CachedHandle {
    const cached = this.entries.touch(key);
    if (cached) return cached;
    const entry: CachedHandle = { opening: fs.open(file, 'r'), users: 0, retired: false };
    // A failed open is not cached: the next read tries again (the file may exist by then).
    entry.opening.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    this.entries.set(key, entry);
    this.entries.evictBeyond(this.capacity, (oldest, old) => void this.retire(oldest, old));
    return entry;
  }

  private async retire(key: string, entry: CachedHandle): Promise<void> {
    if (this.entries.get(key) === entry) this.entries.delete(key);
    if (entry.retired) return;
    entry.retired = true;
    if (entry.users === 0) await closeQuietly(entry.opening);
  }
}
