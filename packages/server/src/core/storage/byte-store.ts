import type { Readable } from 'node:stream';

/** Appends bytes to one resource. One writer per resource; calls never overlap. */
export interface ByteWriter {
  /** Bytes the store holds for this resource (handed to the OS at least). */
  readonly size: number;
  /** Appends the chunks in order; resolves once the OS has them. */
  append(chunks: readonly Buffer[]): Promise<void>;
  /** Makes everything appended so far survive a machine crash. */
  sync(): Promise<void>;
  /**
   * Cuts what this writer's resource holds to `size` bytes and appends from there: after a
   * failed append, the part of it that reached the disk goes (on a full disk, it is space).
   */
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

export interface WriterOptions {
  /**
   * Where the writer starts (the resource's visible size): bytes stored past it, never
   * made visible, are cut. Default: the end of what is stored.
   */
  at?: number | undefined;
  /**
   * The fencing token of the writer's lease (core/leases). A store shared by nodes never
   * lets a writer with an older token change the bytes a writer with a newer one sees:
   * its appends fail (WriterFencedError) or land where no reader looks. A single-process
   * store ignores it.
   */
  fence?: number | undefined;
}

/**
 * Where resource bytes live. Embedded: one file per resource in the data directory;
 * a cluster: a shared directory (NFS, EFS, CephFS) or chunks in PostgreSQL. Every implementation must pass `byte-store.contract.ts`.
 */
export interface ByteStore {
  /** Opens the resource for appending at its current end (or `at`), creating it if missing. */
  openWriter(id: string, options?: WriterOptions): Promise<ByteWriter>;
  /** Bytes stored for the resource (0 if it has none). */
  size(id: string): Promise<number>;
  /** Streams `[start, end)`; the caller guarantees `end` ≤ what was appended. */
  createReadStream(id: string, start: number, end: number): Readable;
  /** Reads `[start, end)` into one buffer: for small reads only (line lookups). */
  read(id: string, start: number, end: number): Promise<Buffer>;
  /** Cuts the resource to `size` bytes (crash recovery of bytes never made visible). */
  truncate(id: string, size: number): Promise<void>;
  delete(id: string): Promise<void>;
  /** Releases what the store holds open (cached read handles); reads still work after, uncached. */
  close(): Promise<void>;
}
