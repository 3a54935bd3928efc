import type { Readable } from 'node:stream';
import type { Catalog, CatalogCheckpoint, CreatedWhole, NameUniqueness, Usage, WholeResource } from '../catalog/catalog.js';
import type { ByteStore, ByteWriter, WriterOptions } from '../storage/byte-store.js';
import type { ListFilter, NamedResource, NewResource, ResourceRecord } from '../types.js';

/** What a file system answers a write that does not fit. */
export function noSpaceError(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** What SQLite answers a write on a full disk (better-sqlite3's SqliteError carries the same code and message). */
export function catalogFullError(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

/**
 * A disk that fills up, for tests (a small real file system is rarely available to them):
 * a ByteStore and a Catalog wrapped around real ones, sharing `free` bytes. Appends take
 * from it; the one that does not fit writes what fits and then fails with ENOSPC, as a
 * file system does. While nothing is free, every catalog write fails as SQLite's does
 * ("database or disk is full"). Cutting or deleting a resource's bytes frees them; reads
 * always work.
 */
export class FullDisk {
  readonly store: ByteStore;
  readonly catalog: Catalog;

  constructor(
    store: ByteStore,
    catalog: Catalog,
    /** Bytes appends may still take. */
    public free = Number.POSITIVE_INFINITY,
  ) {
    this.store = new FullDiskStore(store, this);
    this.catalog = new FullDiskCatalog(catalog, this);
  }

  /** Runs a catalog write, or fails as SQLite does while the disk is full. */
  write<T>(run: () => Promise<T>): Promise<T> {
    return this.free > 0 ? run() : Promise.reject(catalogFullError());
  }

  /** Runs `cut` (a truncate or delete of `id`) and frees the bytes it removed. */
  async freeing(store: ByteStore, id: string, cut: () => Promise<void>): Promise<void> {
    const before = await store.size(id);
    await cut();
    this.free += before - (await store.size(id));
  }
}

class FullDiskWriter implements ByteWriter {
  constructor(
    private readonly inner: ByteWriter,
    private readonly disk: FullDisk,
  ) {}

  get size(): number {
    return this.inner.size;
  }

  async append(chunks: readonly Buffer[]): Promise<void> {
    const total = chunks.reduce((sum, c) => sum + c.length, 0);
    if (total <= this.disk.free) {
      await this.inner.append(chunks);
      this.disk.free -= total;
      return;
    }
    const fits = Math.max(0, this.disk.free);
    if (fits > 0) await this.inner.append([Buffer.concat(chunks).subarray(0, fits)]);
    this.disk.free = 0;
    throw noSpaceError();
  }

  sync(): Promise<void> {
    return this.inner.sync();
  }

  async truncate(size: number): Promise<void> {
    const before = this.inner.size;
    await this.inner.truncate(size);
    this.disk.free += before - size;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

class FullDiskStore implements ByteStore {
  constructor(
    private readonly inner: ByteStore,
    private readonly disk: FullDisk,
  ) {}

  async openWriter(id: string, options?: WriterOptions): Promise<ByteWriter> {
    return new FullDiskWriter(await this.inner.openWriter(id, options), this.disk);
  }

  size(id: string): Promise<number> {
    return this.inner.size(id);
  }

  createReadStream(id: string, start: number, end: number): Readable {
    return this.inner.createReadStream(id, start, end);
  }

  read(id: string, start: number, end: number): Promise<Buffer> {
    return this.inner.read(id, start, end);
  }

  truncate(id: string, size: number): Promise<void> {
    return this.disk.freeing(this.inner, id, () => this.inner.truncate(id, size));
  }

  delete(id: string): Promise<void> {
    return this.disk.freeing(this.inner, id, () => this.inner.delete(id));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

class FullDiskCatalog implements Catalog {
  constructor(
    private readonly inner: Catalog,
    private readonly disk: FullDisk,
  ) {}

  create(resource: NewResource, options?: { uniqueName?: NameUniqueness }): Promise<ResourceRecord> {
    return this.disk.write(() => this.inner.create(resource, options));
  }

  createWhole(resources: readonly WholeResource[], options?: { uniqueName?: NameUniqueness }): Promise<CreatedWhole> {
    return this.disk.write(() => this.inner.createWhole(resources, options));
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

  setAttributes(id: string, attributes: Record<string, string>): Promise<ResourceRecord> {
    return this.disk.write(() => this.inner.setAttributes(id, attributes));
  }

  usage(nameStartsWith: string): Promise<Usage> {
    return this.inner.usage(nameStartsWith);
  }

  get(id: string): Promise<ResourceRecord | undefined> {
    return this.inner.get(id);
  }

  findByTokenHash(tokenHash: string): Promise<ResourceRecord | undefined> {
    return this.inner.findByTokenHash(tokenHash);
  }

  list(filter?: ListFilter): Promise<ResourceRecord[]> {
    return this.inner.list(filter);
  }

  checkpoint(id: string, checkpoint: CatalogCheckpoint): Promise<ResourceRecord> {
    return this.disk.write(() => this.inner.checkpoint(id, checkpoint));
  }

  lineBlockOffset(id: string, block: number): Promise<number | undefined> {
    return this.inner.lineBlockOffset(id, block);
  }

  truncate(id: string, size: number, newlines: number, lines: number): Promise<void> {
    return this.disk.write(() => this.inner.truncate(id, size, newlines, lines));
  }

  delete(id: string): Promise<boolean> {
    return this.disk.write(() => this.inner.delete(id));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
