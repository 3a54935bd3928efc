import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ShuttingDownError } from '@spool/common';
import Database from 'better-sqlite3';

/**
 * What tus says about an upload that the core's resource does not: the declared length,
 * the client's metadata as sent (HEAD echoes it), and its part in a concatenation. The
 * bytes, offsets, state and capability tokens are the resource's (same id).
 */
export interface TusUpload {
  id: string;
  /** `Upload-Length`; null while deferred (`Upload-Defer-Length: 1`). */
  length: number | null;
  /** `Upload-Metadata` exactly as the client sent it, or null. */
  metadata: string | null;
  /** A partial upload, or a final one and the partial uploads it concatenates, in order. */
  concat: { kind: 'partial' } | { kind: 'final'; parts: string[] } | null;
}

interface UploadRow {
  id: string;
  length: number | null;
  metadata: string | null;
  concat: 'partial' | 'final' | null;
  parts: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tus_uploads (
  id TEXT PRIMARY KEY,
  length INTEGER,
  metadata TEXT,
  concat TEXT,
  parts TEXT
) WITHOUT ROWID;
`;

function toUpload(row: UploadRow): TusUpload {
  const concat =
    row.concat === 'final'
      ? { kind: 'final' as const, parts: JSON.parse(row.parts ?? '[]') as string[] }
      : row.concat
        ? { kind: row.concat }
        : null;
  return { id: row.id, length: row.length, metadata: row.metadata, concat };
}

/**
 * The tus facts of every upload the tus protocol created, in a small SQLite file of the
 * data directory (`tus-uploads.sqlite`), so uploads resume across restarts. A row whose
 * resource is gone (deleted through another protocol, retention) is dropped when next
 * looked up, or by the protocol's periodic sweep.
 */
export class TusUploads {
  private readonly db: Database.Database;
  private closed = false;

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  static inDataDir(dataDir: string): TusUploads {
    return new TusUploads(path.join(dataDir, 'tus-uploads.sqlite'));
  }

  private get open(): Database.Database {
    // Requests still in flight during shutdown are refused cleanly (503), not with a driver error.
    if (this.closed) throw new ShuttingDownError();
    return this.db;
  }

  create(upload: TusUpload): void {
    this.open
      .prepare('INSERT INTO tus_uploads (id, length, metadata, concat, parts) VALUES (?, ?, ?, ?, ?)')
      .run(
        upload.id,
        upload.length,
        upload.metadata,
        upload.concat?.kind ?? null,
        upload.concat?.kind === 'final' ? JSON.stringify(upload.concat.parts) : null,
      );
  }

  get(id: string): TusUpload | undefined {
    const row = this.open.prepare('SELECT * FROM tus_uploads WHERE id = ?').get(id) as UploadRow | undefined;
    return row ? toUpload(row) : undefined;
  }

  /** Sets a deferred length; false if the upload has a length already (or is unknown). */
  setLength(id: string, length: number): boolean {
    return this.open.prepare('UPDATE tus_uploads SET length = ? WHERE id = ? AND length IS NULL').run(length, id).changes === 1;
  }

  delete(id: string): void {
    this.open.prepare('DELETE FROM tus_uploads WHERE id = ?').run(id);
  }

  /** Up to `limit` ids after `after`, in id order (the sweep's cursor). */
  idsAfter(after: string, limit: number): string[] {
    const rows = this.open.prepare('SELECT id FROM tus_uploads WHERE id > ? ORDER BY id LIMIT ?').all(after, limit) as { id: string }[];
    return rows.map((row) => row.id);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
