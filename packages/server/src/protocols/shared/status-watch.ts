import type { ResourceStatus } from '@spool/common';
import type { SpoolCore } from '../../core/spool-core.js';

/**
 * One reader's view of a resource's status: only the newest one is kept (latest wins,
 * never backwards — the core guarantees the order), so a slow reader costs O(1) memory
 * however fast the resource changes. One consumer awaits `next()` at a time.
 */
export class StatusWatch {
  private latest: ResourceStatus | undefined;
  private version = 0;
  private taken = 0;
  private wake: (() => void) | undefined;
  private closed = false;
  private unsubscribe: (() => void) | undefined;

  private constructor() {}

  /** Subscribes; the current status is available at once (RESOURCE_NOT_FOUND if unknown). */
  static async open(core: SpoolCore, id: string): Promise<StatusWatch> {
    const watch = new StatusWatch();
    watch.unsubscribe = await core.subscribe(id, (status) => watch.push(status));
    return watch;
  }

  private push(status: ResourceStatus): void {
    this.latest = status;
    this.version++;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The newest status not yet taken, waiting for one if needed; undefined once closed. */
  async next(): Promise<ResourceStatus | undefined> {
    while (!this.closed && this.version === this.taken) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    if (this.closed) return undefined;
    this.taken = this.version;
    return this.latest;
  }

  /** Unsubscribes and releases a pending `next()`. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
