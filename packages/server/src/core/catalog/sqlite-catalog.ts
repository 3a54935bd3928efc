import {
  ErrorCode,
  isTerminal,
  NameTakenError,
  ResourceNotFoundError,
  ResourceTerminalError,
  SpoolError,
  type TransferState,
} from '@spool/common';
import Database from 'better-sqlite3';
import { DEFAULT_DATA_FILE_MODE, setFileModesSync } from '../storage/file-modes.js';
import type { ListFilter, NamedResource, NewResource, ResourceRecord } from '../types.js';
import type { Catalog, CatalogCheckpoint, CreatedWhole, NameUniqueness, Usage, WholeResource } from './catalog.js';
import { type ResourceRowOf, recordOf } from './resource-row.js';

/** SQLite keeps flags as 0/1 and attributes as JSON text. */
type ResourceRow = ResourceRowOf<number, string> & { seq: number };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS resources (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  filename TEXT NOT NULL,
  mime_type TEXT NOT NULL,
  supports_line_access INTEGER NOT NULL,
  context_id TEXT,
  resumable INTEGER NOT NULL DEFAULT 0,
  write_token_hash TEXT,
  read_token_hash TEXT,
  state TEXT NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  newlines INTEGER NOT NULL DEFAULT 0,
  lines INTEGER NOT NULL DEFAULT 0,
  checksum TEXT,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE INDEX IF NOT EXISTS resources_context ON resources(context_id, seq);
CREATE INDEX IF NOT EXISTS resources_state ON resources(state, seq);
CREATE INDEX IF NOT EXISTS resources_write_token ON resources(write_token_hash) WHERE write_token_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_read_token ON resources(read_token_hash) WHERE read_token_hash IS NOT NULL;
CREATE TABLE IF NOT EXISTS line_index (
  resource_id TEXT NOT NULL,
  block INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  PRIMARY KEY (resource_id, block)
) WITHOUT ROWID;
`;

/** Later changes of the schema, in order; `PRAGMA user_version` counts those applied. */
const MIGRATIONS: readonly string[] = [
  // 1: names (unique among live resources) and attributes.
  `ALTER TABLE resources ADD COLUMN name TEXT;
   ALTER TABLE resources ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
   CREATE UNIQUE INDEX resources_live_name ON resources(name) WHERE name IS NOT NULL AND state IN ('INITIATED', 'IN_PROGRESS');
   CREATE INDEX resources_name ON resources(name, seq) WHERE name IS NOT NULL;`,
  // 2: several checksums per resource (JSON, hex); the MD5s recorded so far are among them.
  `ALTER TABLE resources ADD COLUMN checksums TEXT NOT NULL DEFAULT '{}';
   UPDATE resources SET checksums = json_object('md5', checksum) WHERE checksum IS NOT NULL;`,
  // 3: small resources stored whole keep their bytes here (a table apart, so listing never reads them), keyed by
  // the resource's seq: one b-tree (a text key would add an index; WITHOUT ROWID would spill 1 KiB rows to overflow pages).
  `ALTER TABLE resources ADD COLUMN stored_inline INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE inline_bytes (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL);`,
];

const LIVE = "state IN ('INITIATED', 'IN_PROGRESS')";

/** The bounds of names starting with `prefix`, so the name index serves the range (the substr check makes it exact). */
function nameRange(prefix: string): [string, string, number, string] {
  return [prefix, `${prefix}\u{10FFFF}`, [...prefix].length, prefix];
}
const NAME_RANGE = 'name >= ? AND name < ? AND substr(name, 1, ?) = ?';

/** The INSERT parameters of a new resource's row. */
function rowParams(resource: NewResource, now: number) {
  return {
    id: resource.id,
    name: resource.name ?? null,
    attributes: JSON.stringify(resource.attributes ?? {}),
    filename: resource.filename,
    mimeType: resource.mimeType,
    supportsLineAccess: resource.supportsLineAccess ? 1 : 0,
    contextId: resource.contextId,
    resumable: resource.resumable ? 1 : 0,
    writeTokenHash: resource.writeTokenHash ?? null,
    readTokenHash: resource.readTokenHash ?? null,
    now,
  };
}

/** The record of a resource `createWhole` inserted: its row, as the INSERT wrote it. */
function wholeRecord(resource: NewResource, size: number, now: number): ResourceRecord {
  return {
    id: resource.id,
    name: resource.name ?? null,
    attributes: { ...(resource.attributes ?? {}) },
    filename: resource.filename,
    mimeType: resource.mimeType,
    supportsLineAccess: resource.supportsLineAccess,
    contextId: resource.contextId,
    resumable: resource.resumable ?? false,
    writeTokenHash: resource.writeTokenHash ?? null,
    readTokenHash: resource.readTokenHash ?? null,
    state: 'COMPLETED',
    size,
    newlines: 0,
    lines: 0,
    checksum: null,
    checksums: {},
    error: null,
    inline: true,
    createdAt: now,
    updatedAt: now,
    completedAt: now,
  };
}

const toRecord = (row: ResourceRow): ResourceRecord =>
  recordOf(row, { flag: (value) => value === 1, attributes: (text) => JSON.parse(text) as Record<string, string> });

export interface SqliteCatalogOptions {
  /** Mode of the database file and of SQLite's -wal/-shm files beside it (default 0600). */
  fileMode?: number;
}

/**
 * The embedded catalog: one SQLite file in WAL mode. Written at checkpoints only
 * (never per frame), each checkpoint one transaction with its line index entries, so a
 * crash never leaves an index entry without the size that covers it.
 */
export class SqliteCatalog implements Catalog {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(path: string, options: SqliteCatalogOptions = {}) {
    if (path !== ':memory:') {
      // SQLite creates the -wal and -shm files with the database file's mode: set it first.
      setFileModesSync(options.fileMode ?? DEFAULT_DATA_FILE_MODE, [path, `${path}-wal`, `${path}-shm`]);
    }
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a process crash; a machine crash may lose the last
    // transactions, which recovery tolerates (it clamps the catalog to the bytes on disk).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.migrate();
    this.statements = {
      insert: this.db.prepare(
        `INSERT INTO resources (id, name, attributes, filename, mime_type, supports_line_access, context_id, resumable, write_token_hash,
           read_token_hash, state, created_at, updated_at)
         VALUES (@id, @name, @attributes, @filename, @mimeType, @supportsLineAccess, @contextId, @resumable, @writeTokenHash, @readTokenHash,
           'INITIATED', @now, @now)`,
      ),
      insertWhole: this.db.prepare(
        `INSERT INTO resources (id, name, attributes, filename, mime_type, supports_line_access, context_id, resumable, write_token_hash,
           read_token_hash, state, size, checksums, stored_inline, created_at, updated_at, completed_at)
         VALUES (@id, @name, @attributes, @filename, @mimeType, @supportsLineAccess, @contextId, @resumable, @writeTokenHash, @readTokenHash,
           'COMPLETED', @size, '{}', 1, @now, @now, @now)`,
      ),
      insertBytes: this.db.prepare('INSERT INTO inline_bytes (seq, bytes) VALUES (?, ?)'),
      readBytes: this.db.prepare<[string], { id: string; bytes: Buffer }>(
        `SELECT r.id AS id, b.bytes AS bytes FROM resources r JOIN inline_bytes b ON b.seq = r.seq
         WHERE r.id IN (SELECT value FROM json_each(?))`,
      ),
      deleteBytes: this.db.prepare('DELETE FROM inline_bytes WHERE seq = (SELECT seq FROM resources WHERE id = ?)'),
      named: this.db.prepare<[string], { id: string; name: string; state: TransferState; size: number; stored_inline: number }>(
        `SELECT id, name, state, size, stored_inline FROM resources WHERE name IN (SELECT value FROM json_each(?))
         ORDER BY name, (${LIVE}) DESC, seq DESC`,
      ),
      nameHolder: this.db.prepare<[string], { id: string }>(`SELECT id FROM resources WHERE name = ? AND ${LIVE} LIMIT 1`),
      nameEverHeld: this.db.prepare<[string], { id: string }>('SELECT id FROM resources WHERE name = ? ORDER BY seq DESC LIMIT 1'),
      byName: this.db.prepare<[string], ResourceRow>(`SELECT * FROM resources WHERE name = ? ORDER BY (${LIVE}) DESC, seq DESC LIMIT 1`),
      setAttributes: this.db.prepare('UPDATE resources SET attributes = ?, updated_at = ? WHERE id = ?'),
      usage: this.db.prepare<[string, string, number, string], { count: number; bytes: number }>(
        `SELECT count(*) AS count, coalesce(sum(size), 0) AS bytes FROM resources WHERE ${NAME_RANGE}`,
      ),
      get: this.db.prepare<[string], ResourceRow>('SELECT * FROM resources WHERE id = ?'),
      byTokenHash: this.db.prepare<[string, string], ResourceRow>(
        'SELECT * FROM resources WHERE write_token_hash = ? OR read_token_hash = ? LIMIT 1',
      ),
      checkpoint: this.db.prepare(
        `UPDATE resources SET size = @size, newlines = @newlines, lines = @lines, state = @state, checksum = @checksum, checksums = @checksums, error = @error,
           updated_at = @now, completed_at = @completedAt WHERE id = @id`,
      ),
      insertIndex: this.db.prepare('INSERT OR REPLACE INTO line_index (resource_id, block, offset) VALUES (?, ?, ?)'),
      lineBlock: this.db.prepare<[string, number], { offset: number }>('SELECT offset FROM line_index WHERE resource_id = ? AND block = ?'),
      truncateIndex: this.db.prepare('DELETE FROM line_index WHERE resource_id = ? AND offset > ?'),
      truncate: this.db.prepare('UPDATE resources SET size = ?, newlines = ?, lines = ?, updated_at = ? WHERE id = ?'),
      delete: this.db.prepare('DELETE FROM resources WHERE id = ?'),
      deleteIndex: this.db.prepare('DELETE FROM line_index WHERE resource_id = ?'),
    };
  }

  async create(resource: NewResource, options: { uniqueName?: NameUniqueness } = {}): Promise<ResourceRecord> {
    this.db.transaction(() => {
      const taken = this.nameTaken(resource, options.uniqueName);
      if (taken) throw taken;
      this.statements.insert.run(rowParams(resource, Date.now()));
    })();
    return this.mustGet(resource.id);
  }

  async createWhole(resources: readonly WholeResource[], options: { uniqueName?: NameUniqueness } = {}): Promise<CreatedWhole> {
    const now = Date.now();
    const records: ResourceRecord[] = [];
    const refused = this.db.transaction(() => {
      for (const { resource, bytes } of resources) {
        const taken = this.nameTaken(resource, options.uniqueName);
        if (taken) return taken;
        const { lastInsertRowid } = this.statements.insertWhole.run({ ...rowParams(resource, now), size: bytes.length });
        this.statements.insertBytes.run(lastInsertRowid, bytes);
        // The row as inserted, without reading it back (a third of the cost of a blob).
        records.push(wholeRecord(resource, bytes.length, now));
      }
      return undefined;
    })();
    return refused ? { records, refused } : { records };
  }

  async readInline(ids: readonly string[]): Promise<Map<string, Buffer>> {
    if (ids.length === 0) return new Map();
    return new Map(this.statements.readBytes.all(JSON.stringify(ids)).map((row) => [row.id, row.bytes]));
  }

  /** NAME_TAKEN if `resource`'s name is held (live, or ever with `always`); call inside the inserting transaction. */
  private nameTaken(resource: NewResource, uniqueName: NameUniqueness | undefined): NameTakenError | undefined {
    const name = resource.name ?? null;
    if (name === null) return undefined;
    const holder = (uniqueName === 'always' ? this.statements.nameEverHeld : this.statements.nameHolder).get(name);
    return holder ? new NameTakenError(name, holder.id) : undefined;
  }

  async findByName(name: string): Promise<ResourceRecord | undefined> {
    const row = this.statements.byName.get(name);
    return row ? toRecord(row) : undefined;
  }

  async findNamed(names: readonly string[]): Promise<Map<string, NamedResource>> {
    const found = new Map<string, NamedResource>();
    if (names.length === 0) return found;
    // Ordered so that the first row of each name is the one it refers to.
    for (const row of this.statements.named.all(JSON.stringify(names))) {
      if (!found.has(row.name))
        found.set(row.name, { id: row.id, name: row.name, state: row.state, size: row.size, inline: row.stored_inline === 1 });
    }
    return found;
  }

  async setAttributes(id: string, attributes: Record<string, string>): Promise<ResourceRecord> {
    if (this.statements.setAttributes.run(JSON.stringify(attributes), Date.now(), id).changes === 0) throw new ResourceNotFoundError(id);
    return this.mustGet(id);
  }

  async usage(nameStartsWith: string): Promise<Usage> {
    return { ...(this.statements.usage.get(...nameRange(nameStartsWith)) ?? { count: 0, bytes: 0 }) };
  }

  async get(id: string): Promise<ResourceRecord | undefined> {
    const row = this.statements.get.get(id);
    return row ? toRecord(row) : undefined;
  }

  async findByTokenHash(tokenHash: string): Promise<ResourceRecord | undefined> {
    const row = this.statements.byTokenHash.get(tokenHash, tokenHash);
    return row ? toRecord(row) : undefined;
  }

  async list(filter: ListFilter = {}): Promise<ResourceRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state) {
      where.push('state = ?');
      params.push(filter.state);
    }
    if (filter.contextId !== undefined) {
      where.push('context_id = ?');
      params.push(filter.contextId);
    }
    if (filter.nameStartsWith !== undefined) {
      where.push(NAME_RANGE);
      params.push(...nameRange(filter.nameStartsWith));
    }
    if (filter.filenamePrefix) {
      // substr comparison, not LIKE: a prefix may contain % or _.
      where.push('substr(filename, 1, ?) = ?');
      params.push([...filter.filenamePrefix].length, filter.filenamePrefix);
    }
    if (filter.updatedBefore !== undefined) {
      where.push('updated_at < ?');
      params.push(filter.updatedBefore);
    }
    if (filter.completedBefore !== undefined) {
      where.push('completed_at < ?');
      params.push(filter.completedBefore);
    }
    const desc = filter.order === 'desc';
    if (filter.after) {
      where.push(
        desc
          ? 'seq < coalesce((SELECT seq FROM resources WHERE id = ?), 0)'
          : 'seq > coalesce((SELECT seq FROM resources WHERE id = ?), 0)',
      );
      params.push(filter.after);
    }
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const sql = `SELECT * FROM resources ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT ${limit}`;
    return this.db
      .prepare<unknown[], ResourceRow>(sql)
      .all(...params)
      .map(toRecord);
  }

  async checkpoint(id: string, cp: CatalogCheckpoint): Promise<ResourceRecord> {
    const apply = this.db.transaction(() => {
      const current = this.statements.get.get(id);
      if (!current) throw new ResourceNotFoundError(id);
      if (isTerminal(current.state)) throw new ResourceTerminalError(id, current.state);
      if (cp.size < current.size || cp.newlines < current.newlines) {
        throw new SpoolError(ErrorCode.INTERNAL, `Checkpoint of ${id} would move backwards`, {
          from: current.size,
          to: cp.size,
        });
      }
      const now = Date.now();
      this.statements.checkpoint.run({
        id,
        size: cp.size,
        newlines: cp.newlines,
        lines: cp.lines,
        state: cp.state,
        checksum: cp.checksum ?? current.checksum,
        checksums: cp.checksums ? JSON.stringify(cp.checksums) : current.checksums,
        error: cp.error ?? current.error,
        now,
        completedAt: isTerminal(cp.state) ? now : null,
      });
      for (const entry of cp.indexEntries) this.statements.insertIndex.run(id, entry.block, entry.offset);
    });
    apply();
    return this.mustGet(id);
  }

  async lineBlockOffset(id: string, block: number): Promise<number | undefined> {
    if (block === 0) return 0;
    return this.statements.lineBlock.get(id, block)?.offset;
  }

  async truncate(id: string, size: number, newlines: number, lines: number): Promise<void> {
    this.db.transaction(() => {
      this.statements.truncateIndex.run(id, size);
      this.statements.truncate.run(size, newlines, lines, Date.now(), id);
    })();
  }

  async delete(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.statements.deleteIndex.run(id);
      this.statements.deleteBytes.run(id);
      return this.statements.delete.run(id).changes > 0;
    })();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Applies the migrations this database has not had yet, each in one transaction. */
  private migrate(): void {
    const applied = this.db.pragma('user_version', { simple: true }) as number;
    for (let version = applied; version < MIGRATIONS.length; version++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[version] as string);
        this.db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }

  private mustGet(id: string): ResourceRecord {
    const row = this.statements.get.get(id);
    if (!row) throw new ResourceNotFoundError(id);
    return toRecord(row);
  }
}
