/**
 * The right to write one resource, across every node of a deployment. The core takes one
 * before it hands out a writer (`SpoolCore.attachWriter`) and gives it back when the
 * writer detaches; its `token` goes with every append (`WriterOptions.fence`) and every
 * checkpoint (`CatalogCheckpoint.fence`) of that writer, and the shared store and
 * catalog refuse (or never show) those of a writer whose lease moved on. Protocols never
 * see any of it.
 */
export interface WriterLease {
  readonly resourceId: string;
  /** The fencing token; undefined where one process is the only writer (nothing to fence). */
  readonly token: number | undefined;
  /** Called once if the lease is lost (not renewed in time, or taken over by another node). */
  onLost(listener: () => void): void;
  /** Gives the lease back (idempotent): the next writer, on any node, keeps the same token. */
  release(): Promise<void>;
}

export interface WriterLeases {
  /** The lease of `resourceId`, or WriterConflictError while a live writer elsewhere holds it. */
  acquire(resourceId: string): Promise<WriterLease>;
  /** As `acquire`, undefined instead of the conflict (recovery skips what a live node writes). */
  tryAcquire(resourceId: string): Promise<WriterLease | undefined>;
  /** Resources whose writer's lease ran out without being given back (its node died or hangs). */
  orphans(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * The embedded default: one process, whose core already keeps one writer per resource
 * (its map of open uploads). Nothing to fence, nothing to renew.
 */
export class LocalWriterLeases implements WriterLeases {
  async acquire(resourceId: string): Promise<WriterLease> {
    return { resourceId, token: undefined, onLost: () => undefined, release: async () => undefined };
  }

  tryAcquire(resourceId: string): Promise<WriterLease | undefined> {
    return this.acquire(resourceId);
  }

  async orphans(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {}
}
