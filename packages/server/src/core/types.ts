import type { Checksums, ResourceMetadata, TransferState } from '@spool/common';

/** One resource as the catalog keeps it. Offsets are the *visible* (checkpointed) ones. */
export interface ResourceRecord extends ResourceMetadata {
  id: string;
  /**
   * A path-like name chosen by the uploader (`ci/1234/build.log`), unique among live
   * resources (or forever, where the creator asked): readers may use it wherever they use
   * the id. Null when none was given.
   */
  name: string | null;
  /** Small string attributes a protocol keeps with a resource (blob flags …); {} when none. */
  attributes: Record<string, string>;
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
  /** Lowercase hex MD5 of all bytes, once COMPLETED with one (the same as `checksums.md5`). */
  checksum: string | null;
  /** Every checksum of all bytes (hex), once COMPLETED; {} before or when none was computed. */
  checksums: Checksums;
  /** Why the resource FAILED. */
  error: string | null;
  /**
   * Its bytes are kept in the catalog row (`Catalog.createWhole`: a small resource stored
   * whole), not in the byte store: read them with `Catalog.readInline`.
   */
  inline: boolean;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

/** What a name refers to, in brief (`Catalog.findNamed`): enough to plan reading many small resources. */
export type NamedResource = Pick<ResourceRecord, 'id' | 'name' | 'state' | 'size' | 'inline'>;

export interface NewResource extends ResourceMetadata {
  id: string;
  name?: string | null;
  attributes?: Record<string, string>;
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
  filenamePrefix?: string | undefined;
  /** Names starting with this (a folder of names: `ci/1234/`); unnamed resources never match. */
  nameStartsWith?: string | undefined;
  /** Creation order, oldest first (default) or newest first; `after` pages in the same order. */
  order?: 'asc' | 'desc' | undefined;
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
