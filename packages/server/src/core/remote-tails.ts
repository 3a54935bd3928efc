import type { ResourceStatus } from '@spool/common';
import { RecentBytes } from './recent-bytes.js';
import type { ByteStore } from './storage/byte-store.js';

/** Bytes of the newest data kept per followed remote upload: as an upload keeps for its own followers. */
const WINDOW_BYTES = 256 * 1024;

interface Tail {
  /** Followers of the resource on this node. */
  users: number;
  window: RecentBytes | undefined;
  /** One past the last byte in the window. */
  end: number;
  /** The largest size a status announced. */
  wanted: number;
  /** The read bringing the window up to `wanted`, shared by every status waiting for it. */
  running: Promise<void> | undefined;
}

/**
 * The newest bytes of uploads that another node writes and this node's followers follow.
 * When a status arrives, the bytes it adds are read from the shared store once for the
 * node (not once per follower), before any follower here hears of the status; followers
 * at the tail then get them from memory (`SpoolCore.recentBytes`), and the Spool protocol
 * encodes its push frames once per node as it does for a local upload. A gap larger than
 * the window is not read: followers behind read the store themselves.
 */
export class RemoteTails {
  private readonly tails = new Map<string, Tail>();

  constructor(
    private readonly store: ByteStore,
    /** Whether this node writes the resource (its upload keeps its own window). */
    private readonly isLocal: (id: string) => boolean,
    private readonly windowBytes = WINDOW_BYTES,
  ) {}

  retain(id: string): void {
    const tail = this.tails.get(id);
    if (tail) tail.users++;
    else this.tails.set(id, { users: 1, window: undefined, end: 0, wanted: 0, running: undefined });
  }

  release(id: string): void {
    const tail = this.tails.get(id);
    if (tail && --tail.users === 0) this.tails.delete(id);
  }

  /**
   * Undefined when followers may hear of `status` now; else resolves once its bytes are in
   * the window with whether the store holds them. False is a status whose bytes the store
   * does not hold (yet): a writer fenced out that still published, or the storage away. It
   * is not shown; the next status tries again.
   */
  prepare(status: ResourceStatus): Promise<boolean> | undefined {
    const tail = this.tails.get(status.id);
    if (!tail || this.isLocal(status.id)) return tail?.running?.then(() => true);
    if (!tail.window) {
      // The first status: followers start at its size, so the window does too.
      tail.window = new RecentBytes(this.windowBytes, status.size);
      tail.end = tail.wanted = status.size;
      return tail.running?.then(() => true);
    }
    if (status.size > tail.wanted) {
      tail.wanted = status.size;
      tail.running ??= this.fill(status.id, tail).finally(() => {
        tail.running = undefined;
      });
    }
    const held = () => status.size <= tail.end;
    if (tail.running) return tail.running.then(held);
    return held() ? undefined : Promise.resolve(false);
  }

  read(id: string, start: number, end: number): readonly Buffer[] | undefined {
    const tail = this.tails.get(id);
    return tail?.window && end <= tail.end ? tail.window.read(start, end) : undefined;
  }

  private async fill(id: string, tail: Tail): Promise<void> {
    while (tail.end < tail.wanted) {
      const target = tail.wanted;
      try {
        if (target - tail.end > this.windowBytes) {
          // Too far to keep: followers behind read the store, once it is known to hold them.
          if ((await this.store.read(id, target - 1, target)).length !== 1) throw new Error('not stored');
          tail.window = new RecentBytes(this.windowBytes, target);
        } else {
          const bytes = await this.store.read(id, tail.end, target);
          if (bytes.length !== target - tail.end) throw new Error('not stored');
          tail.window?.append(bytes);
        }
      } catch {
        // Not in the store (yet): not shown; the next status reads again from here.
        tail.wanted = tail.end;
        return;
      }
      tail.end = target;
    }
  }
}
