import { isTerminal, type ResourceStatus, type SpoolData, toSpoolStatus } from '@spool/common';
import { type EncodableMessage, EncodedFrames } from '../../transport/websocket/index.js';

/**
 * Start offsets remembered per status: followers at the tail share one; a straggler does
 * not evict it. Small, because a stalled follower keeps its last status (and so these
 * frames, each at most the recent-bytes window) alive until it reads again.
 */
const UPDATES_PER_STATUS = 2;

interface TailUpdate {
  readonly from: number;
  readonly withStatus: boolean;
  readonly frames: EncodedFrames;
}

interface StatusFrames {
  readonly status: EncodedFrames;
  readonly updates: TailUpdate[];
}

/**
 * What followers receive when a status arrives, encoded once and shared by every
 * connection: the `status` message, and for a follower at offset `from` the `data`
 * message and its bytes up to the status's size, in protocol order (a terminal status
 * after its bytes). With a thousand followers at the tail that is one encoding per
 * checkpoint instead of a thousand. Statuses from the core are never modified and the
 * same object reaches every subscriber, so they key the cache, whose entries go with them.
 */
export class SharedPushFrames {
  private readonly byStatus = new WeakMap<ResourceStatus, StatusFrames>();

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
    if (entry.updates.length >= UPDATES_PER_STATUS) entry.updates.shift();
    entry.updates.push({ from, withStatus, frames });
    return frames;
  }

  private framesOf(status: ResourceStatus): StatusFrames {
    let entry = this.byStatus.get(status);
    if (!entry) {
      const message: EncodableMessage = { text: JSON.stringify(toSpoolStatus(status)) };
      entry = { status: EncodedFrames.encode([message]), updates: [] };
      this.byStatus.set(status, entry);
    }
    return entry;
  }
}
