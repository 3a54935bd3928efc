import { isTerminal } from '@spool/common';
import type { EventBus } from '../events/event-bus.js';
import { LruMap } from '../lru-map.js';
import type { ListFilter, NamedResource, NewResource, ResourceRecord } from '../types.js';
import type { Catalog, CatalogCheckpoint, CreatedWhole, NameUniqueness, Usage, WholeResource } from './catalog.js';

/** Default number of terminal records kept: a few hundred bytes each. */
export const DEFAULT_CACHED_RECORDS = 1024;

/** Channel of the records each node must forget (deleted, attributes changed) on a shared catalog. */
export const CATALOG_INVALIDATIONS = 'catalog:invalidate';

/**
 * A catalog that remembers the records of terminal (COMPLETED, FAILED) resources in a
 * bounded LRU in front of another catalog. A terminal record never changes again (but for
 * its attributes, which are changed through this catalog), and
 * every read of a finished log (a line page, a range) looks its record up, often twice.
 * Only deletion ends such a record: deletes through this catalog drop it. On a catalog
 * shared by nodes, `shareInvalidations(bus)` tells every node's cache of each delete and
 * attribute change made through any of them (and a gap of the bus empties the cache).
 */
export class CachingCatalog implements Catalog {
  private readonly terminal = new LruMap<string, ResourceRecord>();
  /** Bumped by every delete and truncate: a lookup that overlapped one must not cache what it read. */
  private generation = 0;

  private bus: EventBus | undefined;

  constructor(
    private readonly inner: Catalog,
    private readonly capacity = DEFAULT_CACHED_RECORDS,
  ) {}

  /** From now on, changes made through this catalog reach the caches of other nodes on `bus`, and theirs this one. */
  async shareInvalidations(bus: EventBus): Promise<void> {
    await bus.subscribe<string>(
      CATALOG_INVALIDATIONS,
      (id) => this.forget(id),
      () => this.forgetAll(),
    );
    this.bus = bus;
  }

  private forgetAll(): void {
    this.generation++;
    this.terminal.clear();
  }

  /** Tells the other nodes' caches (ours forgot already). A bus that fails is logged by nobody: its gap empties their caches. */
  private async tellOthers(id: string): Promise<void> {
    await this.bus?.publish(CATALOG_INVALIDATIONS, id).catch(() => undefined);
  }

  create(resource: NewResource, options?: { uniqueName?: NameUniqueness }): Promise<ResourceRecord> {
    return this.inner.create(resource, options);
  }

  createWhole(resources: readonly WholeResource[], options?: { uniqueName?: NameUniqueness }): Promise<CreatedWhole> {
    return this.inner.createWhole(resources, options);
  }

  readInline(ids: readonly string[]): Promise<Map<string, Buffer>> {
    return this.inner.readInline(ids);
  }

  findNamed(names: readonly string[]): Promise<Map<string, NamedResource>> {
    return this.inner.findNamed(names);
  }

  findByName(name: string): Promise<ResourceRecord | undefined> {
    return this.inner.findByName(name);
  }

  async setAttributes(id: string, attributes: Record<string, string>): Promise<ResourceRecord> {
    // Attributes are the one thing that may change on a terminal resource.
    this.forget(id);
    try {
      return await this.inner.setAttributes(id, attributes);
    } finally {
      this.forget(id);
      await this.tellOthers(id);
    }
  }

  usage(nameStartsWith: string): Promise<Usage> {
    return this.inner.usage(nameStartsWith);
  }

  async get(id: string): Promise<ResourceRecord | undefined> {
    const cached = this.terminal.touch(id);
    if (cached) return cached;
    const generation = this.generation;
    const record = await this.inner.get(id);
    if (record && isTerminal(record.state) && generation === this.generation && this.capacity > 0) {
      // Shared by every caller from now on: frozen so a mutation fails loudly instead of spreading.
      this.terminal.set(id, Object.freeze(record));
      this.terminal.evictBeyond(this.capacity);
    }
    return record;
  }

  findByTokenHash(tokenHash: string): Promise<ResourceRecord | undefined> {
    return this.inner.findByTokenHash(tokenHash);
  }

  list(filter?: ListFilter): Promise<ResourceRecord[]> {
    return this.inner.list(filter);
  }

  checkpoint(id: string, checkpoint: CatalogCheckpoint): Promise<ResourceRecord> {
    return this.inner.checkpoint(id, checkpoint);
  }

  lineBlockOffset(id: string, block: number): Promise<number | undefined> {
    return this.inner.lineBlockOffset(id, block);
  }

  async truncate(id: string, size: number, newlines: number, lines: number): Promise<void> {
    this.forget(id);
    await this.inner.truncate(id, size, newlines, lines);
  }

  async delete(id: string): Promise<boolean> {
    this.forget(id);
    try {
      return await this.inner.delete(id);
    } finally {
      // A lookup that started before the delete may still be in flight.
      this.forget(id);
      await this.tellOthers(id);
    }
  }

  async close(): Promise<void> {
    this.terminal.clear();
    await this.inner.close();
  }

  private forget(id: string): void {
    this.generation++;
    this.terminal.delete(id);
  }
}
