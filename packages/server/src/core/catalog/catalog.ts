import type { Checksums, SpoolError, TransferState } from '@spool/common';
import type { LineIndexEntry, ListFilter, NamedResource, NewResource, ResourceRecord } from '../types.js';

/** A checkpoint as one atomic catalog change: size, line count and the new index entries. */
export interface CatalogCheckpoint {
  size: number;
  newlines: number;
  /** Line count as reported in status (a final unterminated line counts once terminal). */
  lines: number;
  state: TransferState;
  indexEntries: readonly LineIndexEntry[];
  /** The MD5 (legacy column, kept equal to `checksums.md5`). */
  checksum?: string | null;
  /** Every checksum of the resource (a terminal checkpoint): replaces what was recorded. */
  checksums?: Checksums;
  error?: string | null;
  /**
   * The fencing token of the writer's lease (core/leases). A catalog that keeps leases
   * (PostgreSQL) refuses the checkpoint with WriterFencedError once the lease moved to a
   * newer writer, atomically with the update; a single-process catalog has nothing to check.
   */
  fence?: number | undefined;
}

/**
 * Where resources are registered. Embedded: SQLite; multi-node: PostgreSQL. Every
 * implementation must pass `catalog.contract.ts`.
 */
/** How unique a new resource's name must be. */
export type NameUniqueness = 'live' | 'always';

/** Count and total size of a set of resources (quotas). */
export interface Usage {
  count: number;
  bytes: number;
}

/** A small resource whose bytes are all known: recorded COMPLETED with them, in the catalog itself. */
export interface WholeResource {
  resource: NewResource;
  bytes: Buffer;
}

/** What `createWhole` recorded: a prefix of what it was given, and why it stopped there, if it did. */
export interface CreatedWhole {
  records: ResourceRecord[];
  /** The first resource whose name was taken (NAME_TAKEN): neither it nor any after it was created. */
  refused?: SpoolError;
}

export interface Catalog {
  /**
   * Registers a resource. A name must not be held by a live (INITIATED, IN_PROGRESS)
   * resource — with `uniqueName: 'always'` by any resource — else NAME_TAKEN; the check
   * and the insert are one atomic step.
   */
  create(resource: NewResource, options?: { uniqueName?: NameUniqueness }): Promise<ResourceRecord>;
  /**
   * Registers many small resources at once, each COMPLETED with its bytes kept in the
   * catalog (`inline`): one transaction for all of them — no byte store file, no
   * checkpoint. In order, up to the first whose name is taken (as `create`, with
   * `uniqueName`): that one and the rest are not created, and the refusal is returned.
   */
  createWhole(resources: readonly WholeResource[], options?: { uniqueName?: NameUniqueness }): Promise<CreatedWhole>;
  /** The bytes of the inline resources among `ids` (one query); ids unknown or not inline are absent. */
  readInline(ids: readonly string[]): Promise<Map<string, Buffer>>;
  get(id: string): Promise<ResourceRecord | undefined>;
  /** The resource a name refers to: the live one holding it, else the newest that had it. */
  findByName(name: string): Promise<ResourceRecord | undefined>;
  /** `findByName` for many names in one query, in brief; names referring to nothing are absent. */
  findNamed(names: readonly string[]): Promise<Map<string, NamedResource>>;
  /** Replaces a resource's attributes (RESOURCE_NOT_FOUND if unknown). */
  setAttributes(id: string, attributes: Record<string, string>): Promise<ResourceRecord>;
  /** How many resources, and how many bytes (visible sizes), have names starting with `nameStartsWith`. */
  usage(nameStartsWith: string): Promise<Usage>;
  /** The resource whose write or read capability token has this SHA-256 (hex), if any. */
  findByTokenHash(tokenHash: string): Promise<ResourceRecord | undefined>;
  list(filter?: ListFilter): Promise<ResourceRecord[]>;
  /**
   * Records a checkpoint atomically. Size and newlines never go backwards and a
   * terminal state is final: violating either throws.
   */
  checkpoint(id: string, checkpoint: CatalogCheckpoint): Promise<ResourceRecord>;
  /** Byte offset where line `block * LINE_INDEX_STRIDE` starts, if indexed. */
  lineBlockOffset(id: string, block: number): Promise<number | undefined>;
  /** Sets size and line counts lower and drops index entries past `size` (crash recovery only). */
  truncate(id: string, size: number, newlines: number, lines: number): Promise<void>;
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}
