import type { Checksums } from './checksums.js';

/** Transfer states, spelled as on the Step wire. INITIATED → IN_PROGRESS → COMPLETED | FAILED. */
export const TransferState = {
  INITIATED: 'INITIATED',
  IN_PROGRESS: 'IN_PROGRESS',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
} as const;
export type TransferState = (typeof TransferState)[keyof typeof TransferState];

export function isTerminal(state: TransferState): boolean {
  return state === TransferState.COMPLETED || state === TransferState.FAILED;
}

/**
 * What a reader may rely on at one moment. `size` is the *visible* size (readers may
 * read `[0, size)`); `lines` counts `\n` within those bytes (plus a final unterminated
 * line once terminal), or is null without line access.
 */
export interface ResourceStatus {
  id: string;
  state: TransferState;
  size: number;
  lines: number | null;
  /** Lowercase hex MD5 of all bytes, once COMPLETED with an MD5 (the Step protocol's; other protocols ask for it). */
  checksum?: string | undefined;
  /** Every checksum the resource has (`crc32`, `md5`, `sha256`), once COMPLETED. */
  checksums?: Checksums | undefined;
  /** Why a resource FAILED, when known. */
  error?: string | undefined;
}

/** Orders two statuses of one resource: true if `next` may follow `prev` (never backwards). */
export function isStatusProgress(prev: ResourceStatus | undefined, next: ResourceStatus): boolean {
  if (!prev) return true;
  if (isTerminal(prev.state)) return false;
  if (next.size < prev.size) return false;
  const rank = (s: TransferState) => (s === 'INITIATED' ? 0 : s === 'IN_PROGRESS' ? 1 : 2);
  if (rank(next.state) < rank(prev.state)) return false;
  return !(next.size === prev.size && next.state === prev.state && next.lines === prev.lines);
}

/**
 * A resource's metadata and status as the JSON answers of every protocol show it (HTTP
 * adds `links`, HSP `references`): a wire shape, shared by the server and the SDKs.
 */
export interface ResourceFields {
  id: string;
  /** The path-like name its uploader chose (`ci/1234/build.log`), usable wherever the id is; null if none. */
  name: string | null;
  filename: string;
  mimeType: string;
  supportsLineAccess: boolean;
  contextId: string | null;
  state: TransferState;
  /** Visible (= durable) size in bytes: what readers may read, what an appender continues from. */
  size: number;
  lines: number | null;
  /** The MD5 (hex) when the resource has one, else null. */
  checksum: string | null;
  /** Every checksum the resource has, hex ({} until COMPLETED or when none was asked for). */
  checksums: Checksums;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}
