import type { Checksums, TransferState } from '@spool/common';
import type { ResourceRecord } from '../types.js';

/**
 * A row of the `resources` table as a SQL catalog reads it, flags and attributes in the
 * engine's own types (SQLite: 0/1 and JSON text; PostgreSQL: booleans and JSONB). The
 * one place columns meet record fields, for both catalogs: a new field (several checksums
 * per resource, say) is a column here, a line in `recordOf`, a migration each, and the
 * INSERT/checkpoint statements that write it.
 */
export interface ResourceRowOf<Flag, Attributes> {
  id: string;
  name: string | null;
  attributes: Attributes;
  filename: string;
  mime_type: string;
  supports_line_access: Flag;
  context_id: string | null;
  resumable: Flag;
  write_token_hash: string | null;
  read_token_hash: string | null;
  state: TransferState;
  size: number;
  newlines: number;
  lines: number;
  checksum: string | null;
  /** JSON (text in SQLite, JSONB in PostgreSQL) of the checksums, hex. */
  checksums: Attributes;
  error: string | null;
  /** The bytes are in the `inline_bytes` table. */
  stored_inline: Flag;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

export function recordOf<Flag, Attributes>(
  row: ResourceRowOf<Flag, Attributes>,
  decode: { flag: (value: Flag) => boolean; attributes: (value: Attributes) => Record<string, string> },
): ResourceRecord {
  return {
    id: row.id,
    name: row.name,
    attributes: decode.attributes(row.attributes),
    filename: row.filename,
    mimeType: row.mime_type,
    supportsLineAccess: decode.flag(row.supports_line_access),
    contextId: row.context_id,
    resumable: decode.flag(row.resumable),
    writeTokenHash: row.write_token_hash,
    readTokenHash: row.read_token_hash,
    state: row.state,
    size: row.size,
    newlines: row.newlines,
    lines: row.lines,
    checksum: row.checksum,
    checksums: decode.attributes(row.checksums) as Checksums,
    error: row.error,
    inline: decode.flag(row.stored_inline),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
  };
}
