import { promises as fs } from 'node:fs';

/** A handle lent to one reader; `release()` once done (idempotent). */
export interface ReadLease {
  readonly handle: fs.FileHandle;
  release(): void;
}

interface Entry {
  readonly opening: Promise<fs.FileHandle>;
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * Read-only file handles shared by every reader of a file and kept open `idleMs` after
 * the last one leaves: a follower or a Step client asks for one range after another
 * (a thousand per GiB), and opening and closing the file for each cost more than the
 * reads. Reads through a shared handle must be positional.
 */
export class ReadHandles {
  readonly #entries = new Map<string, Entry>();

  constructor(readonly idleMs: number) {}

  /** Open handles (in use or idle). */
  get size(): number {
    return this.#entries.size;
  }

  async acquire(file: string): Promise<ReadLease> {
    let entry = this.#entries.get(file);
    if (entry === undefined) {
      const created: Entry = { opening: fs.open(file, 'r'), users: 0, idleTimer: undefined };
      entry = created;
      this.#entries.set(file, created);
      // A failed open is not cached: the next reader tries again.
      created.opening.catch(() => {
        if (this.#entries.get(file) === created) this.#entries.delete(file);
      });
    }
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    entry.users++;
    const leased = entry;
    let handle: fs.FileHandle;
    try {
      handle = await leased.opening;
    } catch (error) {
      leased.users--;
      throw error;
    }
    let released = false;
    return {
      handle,
      release: () => {
        if (released) return;
        released = true;
        if (--leased.users === 0) this.#closeWhenIdle(file, leased);
      },
    };
  }

  /** Closes the idle handle of `file` now (it was deleted); one in use closes when released. */
  forget(file: string): void {
    const entry = this.#entries.get(file);
    if (entry === undefined) return;
    this.#entries.delete(file);
    if (entry.users === 0) this.#close(entry);
  }

  #closeWhenIdle(file: string, entry: Entry): void {
    if (this.#entries.get(file) !== entry) {
      this.#close(entry); // forgotten while in use
      return;
    }
    entry.idleTimer = setTimeout(() => {
      if (entry.users > 0 || this.#entries.get(file) !== entry) return;
      this.#entries.delete(file);
      this.#close(entry);
    }, this.idleMs);
    entry.idleTimer.unref();
  }

  #close(entry: Entry): void {
    clearTimeout(entry.idleTimer);
    entry.opening.then((handle) => handle.close()).catch(() => undefined);
  }
}
