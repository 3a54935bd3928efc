import type { ResourceMetadata, TransferState } from '@spool/common';

/** One resource as the catalog keeps it. Offsets are the *visible* (checkpointed) ones. */
export interface ResourceRecord extends ResourceMetadata {
  id: string;
  contextId: string | null;
  resumable: boolean;
  writeTokenHash: string | null;
  readTokenHash: string | null;
  state: TransferState;
  /** Visible size: bytes readers may read, as of the last checkpoint. */
  size: number;
  /** `\n` bytes within `[0, size)`. */
  newlines: number;
  /** Lines as status reports them: `newlines`, plus a final unterminated line once terminal. */
  lines: number;
  /** Lowercase hex MD5 of all bytes, once COMPLETED. */
  checksum: string | null;
  /** Why the resource FAILED. */
  error: string | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

export interface NewResource extends ResourceMetadata {
  id: string;
  contextId: string | null;
  /** A lost writer may come back (Spool protocol, HTTP appends): stays IN_PROGRESS for the grace period. */
  resumable?: boolean;
  /** SHA-256 (hex) of the per-resource capability secrets, when access control issues them. */
  writeTokenHash?: string | null;
  readTokenHash?: string | null;
}

export interface ListFilter {
  state?: TransferState | undefined;
  contextId?: string | undefined;
  namePrefix?: string | undefined;
  /** Last changed (checkpoint, release) before this time (ms since epoch). */
  updatedBefore?: number | undefined;
  /** Reached COMPLETED/FAILED before this time (ms since epoch). */
  completedBefore?: number | undefined;
  /** Resources created strictly after this id in listing order (paging cursor). */
  after?: string | undefined;
  limit?: number | undefined;
}

/**
 * A sparse line index entry: line number `block * LINE_INDEX_STRIDE` starts at byte
 * `offset`. Line 0 always starts at 0 and has no entry.
 */
export interface LineIndexEntry {
  block: number;
  offset: number;
}

/** Lines between two sparse index entries; a line lookup reads at most this many lines. */
export const LINE_INDEX_STRIDE = 256;
