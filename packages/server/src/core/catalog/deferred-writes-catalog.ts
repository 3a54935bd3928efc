import { ErrorCode, ResourceNotFoundError, ResourceTerminalError, SpoolError, TransferState } from '@spool/common';
import type { Logger } from 'winston';
import type { ListFilter, NamedResource, NewResource, ResourceRecord } from '../types.js';
import type { Catalog, CatalogCheckpoint, CreatedWhole, NameUniqueness, Usage, WholeResource } from './catalog.js';

/** A change the catalog underneath could not record yet: a FAILED ending, or a delete. */
type DeferredChange = { kind: 'fail'; checkpoint: CatalogCheckpoint; at: number } | { kind: 'delete' };

/** Default page size of `list`, as the catalogs use. */
const DEFAULT_LIST_LIMIT = 100;

/**
 * Whether a catalog error is the catalog failing (SQLite's "database or disk is full", a
 * database that cannot be reached: STORAGE_FAILURE) rather than refusing (other SpoolErrors).
 */
const isFailure = (err: unknown): boolean => !(err instanceof SpoolError) || err.code === ErrorCode.STORAGE_FAILURE;

/**
 * A catalog that never loses the end of a resource to a full disk — or to a database that
 * is away. When the catalog underneath cannot record a FAILED ending or a delete (an I/O
 * error such as SQLite's "database or disk is full", PostgreSQL unreachable; not a
 * refusal — those are SpoolErrors and pass through),
 * the change is kept here, in memory, and every read shows it as recorded: followers and
 * later readers see FAILED, a deleted resource is gone. `recordDeferred` writes them once
 * the catalog can (the sweeper calls it). If the process stops first, recovery at the next
 * start ends the upload again from the catalog's last checkpoint.
 *
 * Only endings that are FAILED are deferred: COMPLETED is promised to a client only once
 * recorded. The memory held is one small entry per resource whose end waits (at most
 * every resource, while the disk stays full).
 */
export class DeferredWritesCatalog implements Catalog {
  private readonly deferred = new Map<string, DeferredChange>();

  constructor(
    private readonly inner: Catalog,
    private readonly logger: Logger,
  ) {}

  /** Changes waiting to be recorded. */
  get deferredCount(): number {
    return this.deferred.size;
  }

  create(resource: NewResource, options?: { uniqueName?: NameUniqueness }): Promise<ResourceRecord> {
    return this.inner.create(resource, options);
  }

  createWhole(resources: readonly WholeResource[], options?: { uniqueName?: NameUniqueness }): Promise<CreatedWhole> {
    return this.inner.createWhole(resources, options);
  }

  /** As the catalog reads them, but for resources whose delete waits here: gone. */
  async readInline(ids: readonly string[]): Promise<Map<string, Buffer>> {
    const found = await this.inner.readInline(ids);
    if (this.deferred.size > 0) for (const id of found.keys()) if (this.deferred.get(id)?.kind === 'delete') found.delete(id);
    return found;
  }

  /** As the catalog finds them, but for resources whose delete waits here: gone (a FAILED ending shown as recorded). */
  async findNamed(names: readonly string[]): Promise<Map<string, NamedResource>> {
    const found = await this.inner.findNamed(names);
    if (this.deferred.size === 0) return found;
    for (const [name, named] of found) {
      const change = this.deferred.get(named.id);
      if (change?.kind === 'delete') found.delete(name);
      else if (change) found.set(name, { ...named, state: change.checkpoint.state, size: change.checkpoint.size });
    }
    return found;
  }

  async findByName(name: string): Promise<ResourceRecord | undefined> {
    const record = await this.inner.findByName(name);
    return record && this.shown(record);
  }

  setAttributes(id: string, attributes: Record<string, string>): Promise<ResourceRecord> {
    if (this.deferred.get(id)?.kind === 'delete') return Promise.reject(new ResourceNotFoundError(id));
    return this.inner.setAttributes(id, attributes);
  }

  usage(nameStartsWith: string): Promise<Usage> {
    return this.inner.usage(nameStartsWith);
  }

  async get(id: string): Promise<ResourceRecord | undefined> {
    if (this.deferred.get(id)?.kind === 'delete') return undefined;
    const record = await this.inner.get(id);
    return record && this.shown(record);
  }

  async findByTokenHash(tokenHash: string): Promise<ResourceRecord | undefined> {
    const record = await this.inner.findByTokenHash(tokenHash);
    return record && this.shown(record);
  }

  /** As the catalog lists, with deferred changes applied: pages stay full (refilled past what they hide). */
  async list(filter: ListFilter = {}): Promise<ResourceRecord[]> {
    if (this.deferred.size === 0) return this.inner.list(filter);
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
    const out: ResourceRecord[] = [];
    let after = filter.after;
    for (;;) {
      const batch = await this.inner.list({ ...filter, after, limit });
      for (const record of batch) {
        const shown = this.shown(record);
        if (shown && (!filter.state || shown.state === filter.state) && out.length < limit) out.push(shown);
      }
      const last = batch[batch.length - 1];
      if (out.length >= limit || batch.length < limit || !last) return out;
      after = last.id;
    }
  }

  async checkpoint(id: string, checkpoint: CatalogCheckpoint): Promise<ResourceRecord> {
    const waiting = this.deferred.get(id);
    if (waiting?.kind === 'delete') throw new ResourceNotFoundError(id);
    if (waiting) throw new ResourceTerminalError(id, TransferState.FAILED);
    try {
      return await this.inner.checkpoint(id, checkpoint);
    } catch (err) {
      if (checkpoint.state !== TransferState.FAILED || !isFailure(err)) throw err;
      const change: DeferredChange = { kind: 'fail', checkpoint, at: Date.now() };
      let current: ResourceRecord | undefined;
      try {
        current = await this.inner.get(id);
      } catch {
        // The catalog cannot even be read (a database away): kept all the same, recorded once it is back.
        this.defer(id, change, err);
        throw err;
      }
      if (!current) throw err;
      this.defer(id, change, err);
      return applied(current, change);
    }
  }

  lineBlockOffset(id: string, block: number): Promise<number | undefined> {
    return this.inner.lineBlockOffset(id, block);
  }

  truncate(id: string, size: number, newlines: number, lines: number): Promise<void> {
    return this.inner.truncate(id, size, newlines, lines);
  }

  async delete(id: string): Promise<boolean> {
    if (this.deferred.get(id)?.kind === 'delete') return false;
    try {
      const existed = await this.inner.delete(id);
      this.deferred.delete(id);
      return existed;
    } catch (err) {
      if (!isFailure(err)) throw err;
      this.defer(id, { kind: 'delete' }, err);
      return true;
    }
  }

  /**
   * Records the deferred changes, oldest first, until one still fails (the disk is still
   * full: the rest would too). A change the catalog now refuses (the resource is gone)
   * has nothing left to record. Returns how many still wait.
   */
  async recordDeferred(): Promise<number> {
    for (const [id, change] of [...this.deferred]) {
      try {
        if (change.kind === 'delete') await this.inner.delete(id);
        else await this.inner.checkpoint(id, change.checkpoint);
        this.logger.info('deferred catalog change recorded', { resourceId: id, change: change.kind });
      } catch (err) {
        if (isFailure(err)) break;
      }
      if (this.deferred.get(id) === change) this.deferred.delete(id);
    }
    return this.deferred.size;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private defer(id: string, change: DeferredChange, err: unknown): void {
    this.deferred.set(id, change);
    this.logger.error('catalog write failed; change kept in memory until it can be recorded', {
      resourceId: id,
      change: change.kind,
      error: (err as Error).message,
    });
  }

  /** The record as it will be once the deferred change is recorded; undefined if deleted. */
  private shown(record: ResourceRecord): ResourceRecord | undefined {
    const change = this.deferred.get(record.id);
    if (!change) return record;
    return change.kind === 'delete' ? undefined : applied(record, change);
  }
}

function applied(record: ResourceRecord, change: { checkpoint: CatalogCheckpoint; at: number }): ResourceRecord {
  const { checkpoint, at } = change;
  return {
    ...record,
    state: checkpoint.state,
    size: checkpoint.size,
    newlines: checkpoint.newlines,
    lines: checkpoint.lines,
    checksum: checkpoint.checksum ?? record.checksum,
    checksums: checkpoint.checksums ?? record.checksums,
    error: checkpoint.error ?? record.error,
    updatedAt: at,
    completedAt: at,
  };
}
