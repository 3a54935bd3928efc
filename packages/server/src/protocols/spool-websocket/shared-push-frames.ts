import { isTerminal, type ResourceStatus, type SpoolData, toSpoolStatus } from '@spool/common';
import { LruMap } from '../../core/lru-map.js';
import { type EncodableMessage, EncodedFrames } from '../../transport/websocket/index.js';

/**
 * Start offsets remembered per status: followers at the tail share one; a straggler does
 * not evict it. Small: each holds up to a push piece of data.
 */
const UPDATES_PER_STATUS = 2;

/** Statuses whose frames are kept: the newest of each followed resource, and a few before it. */
const MAX_STATUSES = 1024;
/** Bytes of frames kept at most (an update carries up to a push piece of data). */
const MAX_BYTES = 32 * 1024 * 1024;

interface TailUpdate {
  readonly from: number;
  readonly withStatus: boolean;
  readonly frames: EncodedFrames;
}

interface StatusFrames {
  /** The status they were encoded from. */
  readonly source: ResourceStatus;
  readonly status: EncodedFrames;
  readonly updates: TailUpdate[];
  bytes: number;
}

/**
 * What followers receive when a status arrives, encoded once and shared by every
 * connection: the `status` message, and for a follower at offset `from` the `data`
 * message and its bytes up to the status's size, in protocol order (a terminal status
 * after its bytes). With a thousand followers at the tail that is one encoding per
 * checkpoint instead of a thousand.
 *
 * Keyed by resource, size and state, which fix a status and the bytes before it — not by
 * the status object: an event bus may hand each subscriber its own copy (one across
 * processes will). A bounded LRU, by count and bytes; an evicted entry only costs
 * another encoding.
 */
export class SharedPushFrames {
  private readonly byStatus = new LruMap<string, StatusFrames>();
  private bytes = 0;
  /** The entry asked for last: every follower of one fan-out asks with the same status object. */
  private last: StatusFrames | undefined;

  constructor(
    private readonly maxStatuses = MAX_STATUSES,
    private readonly maxBytes = MAX_BYTES,
  ) {}

  /** The `status` message alone. */
  status(status: ResourceStatus): EncodedFrames {
    return this.framesOf(status).status;
  }

  /**
   * Bytes `[from, status.size)` as one `data` push, preceded by the status when
   * `withStatus` (followed by it when terminal); `read` supplies the bytes on a miss.
   * Undefined when `read` has none (they are not in memory).
   */
  update(status: ResourceStatus, from: number, withStatus: boolean, read: () => readonly Buffer[] | undefined): EncodedFrames | undefined {
    const entry = this.framesOf(status);
    const cached = entry.updates.find((update) => update.from === from && update.withStatus === withStatus);
    if (cached) return cached.frames;
    const bytes = read();
    if (!bytes) return undefined;
    const header: SpoolData = { type: 'data', offset: from, length: status.size - from };
    const data = EncodedFrames.encode([{ text: JSON.stringify(header) }, { binary: bytes }]);
    let frames = data;
    if (withStatus) frames = isTerminal(status.state) ? data.concat(entry.status) : entry.status.concat(data);
    if (entry.updates.length >= UPDATES_PER_STATUS) this.resize(entry, -(entry.updates.shift()?.frames.bytes.length ?? 0));
    entry.updates.push({ from, withStatus, frames });
    this.resize(entry, frames.bytes.length);
    this.evict();
    return frames;
  }

  private framesOf(status: ResourceStatus): StatusFrames {
    // Still cached (an evicted entry is never `last`): no key to build, no LRU move per follower.
    if (this.last?.source === status) return this.last;
    this.last = this.entryOf(status);
    return this.last;
  }

  private entryOf(status: ResourceStatus): StatusFrames {
    const key = `${status.id}/${status.state}/${status.size}`;
    const entry = this.byStatus.touch(key);
    if (entry && sameStatus(entry.source, status)) return entry;
    if (entry) this.forget(key, entry);
    const message: EncodableMessage = { text: JSON.stringify(toSpoolStatus(status)) };
    const created: StatusFrames = { source: status, status: EncodedFrames.encode([message]), updates: [], bytes: 0 };
    this.byStatus.set(key, created);
    this.resize(created, created.status.bytes.length);
    this.evict();
    return created;
  }

  private resize(entry: StatusFrames, delta: number): void {
    entry.bytes += delta;
    this.bytes += delta;
  }

  private forget(key: string, entry: StatusFrames): void {
    if (this.last === entry) this.last = undefined;
    this.byStatus.delete(key);
    this.bytes -= entry.bytes;
  }

  /** Drops least recently used entries beyond either bound; the newest (in use now) stays. */
  private evict(): void {
    for (const [key, entry] of this.byStatus) {
      if (this.byStatus.size <= 1 || (this.byStatus.size <= this.maxStatuses && this.bytes <= this.maxBytes)) return;
      this.forget(key, entry);
    }
  }
}

/**
 * Whether two statuses with the same key encode alike. The core never publishes two that
 * differ, but a stale frame would be a silent error, so the rest is compared too.
 */
function sameStatus(a: ResourceStatus, b: ResourceStatus): boolean {
  return a.lines === b.lines && a.checksum === b.checksum && a.error === b.error;
}
