import type { TransferState } from '@spool/common';
import type { LineIndexEntry, ListFilter, NewResource, ResourceRecord } from '../types.js';

/** A checkpoint as one atomic catalog change: size, line count and the new index entries. */
export interface CatalogCheckpoint {
  size: number;
  newlines: number;
  /** Line count as reported in status (a final unterminated line counts once terminal). */
  lines: number;
  state: TransferState;
  indexEntries: readonly LineIndexEntry[];
  checksum?: string | null;
  error?: string | null;
}

/**
 * Where resources are registered. Embedded: SQLite; multi-node: PostgreSQL. Every
 * implementation must pass `catalog.contract.ts`.
 */
export interface Catalog {
  create(resource: NewResource): Promise<ResourceRecord>;
  get(id: string): Promise<ResourceRecord | undefined>;
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
