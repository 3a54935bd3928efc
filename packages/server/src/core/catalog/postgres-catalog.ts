import {
  ErrorCode,
  isTerminal,
  NameTakenError,
  ResourceNotFoundError,
  ResourceTerminalError,
  SpoolError,
  type TransferState,
  WriterFencedError,
} from '@spool/common';
import { isUniqueViolation, type PostgresDatabase, type Queryable } from '../postgres/database.js';
import type { ListFilter, NamedResource, NewResource, ResourceRecord } from '../types.js';
import type { Catalog, CatalogCheckpoint, CreatedWhole, NameUniqueness, Usage, WholeResource } from './catalog.js';
import { type ResourceRowOf, recordOf } from './resource-row.js';

/** PostgreSQL has booleans and JSONB: they arrive as they are. */
type ResourceRow = ResourceRowOf<boolean, Record<string, string>>;
const toRecord = (row: ResourceRow): ResourceRecord => recordOf(row, { flag: (value) => value, attributes: (value) => value });

const LIVE = "state IN ('INITIATED', 'IN_PROGRESS')";
/** Names starting with $n: a range of the C-collated name index, made exact by starts_with. */
const nameRange = (n: number) => `name >= $${n} AND name < $${n} || chr(1114111) AND starts_with(name, $${n})`;
/** Advisory lock namespace of name checks ('spoo'): creators of one name go one at a time. */
const NAME_LOCK_SPACE = 0x73706f6f;

/**
 * The catalog of a cluster: every node shares one PostgreSQL database. Same rules as the
 * SQLite catalog (and the same contract suite); a checkpoint is one transaction with its
 * line index entries, and one carrying a writer's fence is refused once that writer's
 * lease moved (WriterFencedError), in the same transaction as the update.
 */
export class PostgresCatalog implements Catalog {
  private readonly db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.db = db.retain();
  }

  async create(resource: NewResource, options: { uniqueName?: NameUniqueness } = {}): Promise<ResourceRecord> {
    const name = resource.name ?? null;
    const insert = async (run: Queryable) => {
      const { rows } = await run.query<ResourceRow>(
        `INSERT INTO resources (id, name, attributes, filename, mime_type, supports_line_access, context_id, resumable,
           write_token_hash, read_token_hash, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'INITIATED', $11, $11) RETURNING *`,
        [
          resource.id,
          name,
          JSON.stringify(resource.attributes ?? {}),
          resource.filename,
          resource.mimeType,
          resource.supportsLineAccess,
          resource.contextId,
          resource.resumable ?? false,
          resource.writeTokenHash ?? null,
          resource.readTokenHash ?? null,
          Date.now(),
        ],
      );
      return toRecord(rows[0] as ResourceRow);
    };
    // Without a name, one statement.
    if (name === null) return insert(this.db);
    try {
      return await this.db.transaction(async (client) => {
        // Check and insert as one step across nodes: every creator of this name waits here.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [NAME_LOCK_SPACE, name]);
        const holder = await client.query<{ id: string }>(
          options.uniqueName === 'always'
            ? 'SELECT id FROM resources WHERE name = $1 ORDER BY seq DESC LIMIT 1'
            : `SELECT id FROM resources WHERE name = $1 AND ${LIVE} LIMIT 1`,
          [name],
        );
        const taken = holder.rows[0];
        if (taken) throw new NameTakenError(name, taken.id);
        return insert(client);
      });
    } catch (err) {
      if (isUniqueViolation(err, 'resources_live_name')) throw new NameTakenError(name, 'another');
      throw err;
    }
  }

  /**
   * One transaction: every name is locked as `create` locks one (in sorted order, so two
   * batches cannot deadlock), the taken ones found in one query, then the rows before the
   * first taken one inserted with their bytes, each table in one statement.
   */
  async createWhole(resources: readonly WholeResource[], options: { uniqueName?: NameUniqueness } = {}): Promise<CreatedWhole> {
    if (resources.length === 0) return { records: [] };
    const names = resources.flatMap(({ resource }) => (resource.name ? [resource.name] : []));
    try {
      return await this.db.transaction(async (client) => {
        const held = new Map<string, string>();
        if (names.length > 0) {
          await client.query(
            'SELECT pg_advisory_xact_lock($1, hashtext(n)) FROM (SELECT DISTINCT unnest($2::text[]) AS n ORDER BY 1) AS names',
            [NAME_LOCK_SPACE, names],
          );
          const { rows } = await client.query<{ name: string; id: string }>(
            `SELECT DISTINCT ON (name) name, id FROM resources WHERE name = ANY($1::text[])${options.uniqueName === 'always' ? '' : ` AND ${LIVE}`}
             ORDER BY name, seq DESC`,
            [names],
          );
          for (const row of rows) held.set(row.name, row.id);
        }
        // The first resource whose name is held, or repeated within the batch.
        let refused: NameTakenError | undefined;
        let count = 0;
        for (const { resource } of resources) {
          const name = resource.name ?? null;
          const holder = name === null ? undefined : held.get(name);
          if (name !== null && holder !== undefined) {
            refused = new NameTakenError(name, holder);
            break;
          }
          if (name !== null) held.set(name, resource.id);
          count++;
        }
        const taken = resources.slice(0, count);
        const column = <T>(pick: (whole: WholeResource) => T) => taken.map(pick);
        const { rows } = await client.query<ResourceRow>(
          `INSERT INTO resources (id, name, attributes, filename, mime_type, supports_line_access, context_id, resumable,
             write_token_hash, read_token_hash, state, size, stored_inline, created_at, updated_at, completed_at)
           SELECT id, name, attributes, filename, mime_type, line_access, context_id, resumable, write_hash, read_hash,
             'COMPLETED', size, TRUE, $11, $11, $11
           FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::boolean[], $7::text[], $8::boolean[],
             $9::text[], $10::text[], $12::bigint[])
             AS r(id, name, attributes, filename, mime_type, line_access, context_id, resumable, write_hash, read_hash, size)
           RETURNING *`,
          [
            column(({ resource }) => resource.id),
            column(({ resource }) => resource.name ?? null),
            column(({ resource }) => JSON.stringify(resource.attributes ?? {})),
            column(({ resource }) => resource.filename),
            column(({ resource }) => resource.mimeType),
            column(({ resource }) => resource.supportsLineAccess),
            column(({ resource }) => resource.contextId),
            column(({ resource }) => resource.resumable ?? false),
            column(({ resource }) => resource.writeTokenHash ?? null),
            column(({ resource }) => resource.readTokenHash ?? null),
            Date.now(),
            column(({ bytes }) => bytes.length),
          ],
        );
        await client.query('INSERT INTO inline_bytes (resource_id, bytes) SELECT * FROM unnest($1::text[], $2::bytea[])', [
          column(({ resource }) => resource.id),
          column(({ bytes }) => bytes),
        ]);
        // RETURNING gives no order: back in the order given.
        const byId = new Map(rows.map((row) => [row.id, toRecord(row)]));
        const records = taken.map(({ resource }) => byId.get(resource.id) as ResourceRecord);
        return refused ? { records, refused } : { records };
      });
    } catch (err) {
      if (isUniqueViolation(err, 'resources_live_name')) throw new NameTakenError(names.join(', '), 'another');
      throw err;
    }
  }

  async readInline(ids: readonly string[]): Promise<Map<string, Buffer>> {
    const { rows } = await this.db.query<{ resource_id: string; bytes: Buffer }>(
      'SELECT resource_id, bytes FROM inline_bytes WHERE resource_id = ANY($1::text[])',
      [ids],
    );
    return new Map(rows.map((row) => [row.resource_id, row.bytes]));
  }

  async get(id: string): Promise<ResourceRecord | undefined> {
    return this.one('SELECT * FROM resources WHERE id = $1', [id]);
  }

  async findByName(name: string): Promise<ResourceRecord | undefined> {
    return this.one(`SELECT * FROM resources WHERE name = $1 ORDER BY (${LIVE}) DESC, seq DESC LIMIT 1`, [name]);
  }

  async findNamed(names: readonly string[]): Promise<Map<string, NamedResource>> {
    if (names.length === 0) return new Map();
    const { rows } = await this.db.query<{ id: string; name: string; state: TransferState; size: number; stored_inline: boolean }>(
      `SELECT DISTINCT ON (name) id, name, state, size, stored_inline FROM resources WHERE name = ANY($1::text[])
       ORDER BY name, (${LIVE}) DESC, seq DESC`,
      [names],
    );
    return new Map(
      rows.map((row) => [row.name, { id: row.id, name: row.name, state: row.state, size: row.size, inline: row.stored_inline }]),
    );
  }

  async setAttributes(id: string, attributes: Record<string, string>): Promise<ResourceRecord> {
    const record = await this.one('UPDATE resources SET attributes = $2, updated_at = $3 WHERE id = $1 RETURNING *', [
      id,
      JSON.stringify(attributes),
      Date.now(),
    ]);
    if (!record) throw new ResourceNotFoundError(id);
    return record;
  }

  async usage(nameStartsWith: string): Promise<Usage> {
    const { rows } = await this.db.query<Usage>(
      `SELECT count(*)::bigint AS count, coalesce(sum(size), 0)::bigint AS bytes FROM resources WHERE ${nameRange(1)}`,
      [nameStartsWith],
    );
    return { count: rows[0]?.count ?? 0, bytes: rows[0]?.bytes ?? 0 };
  }

  async findByTokenHash(tokenHash: string): Promise<ResourceRecord | undefined> {
    return this.one('SELECT * FROM resources WHERE write_token_hash = $1 OR read_token_hash = $1 LIMIT 1', [tokenHash]);
  }

  async list(filter: ListFilter = {}): Promise<ResourceRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return params.length;
    };
    if (filter.state) where.push(`state = $${param(filter.state)}`);
    if (filter.contextId !== undefined) where.push(`context_id = $${param(filter.contextId)}`);
    if (filter.nameStartsWith !== undefined) where.push(nameRange(param(filter.nameStartsWith)));
    // starts_with, not LIKE: a prefix may contain % or _.
    if (filter.filenamePrefix) where.push(`starts_with(filename, $${param(filter.filenamePrefix)})`);
    if (filter.updatedBefore !== undefined) where.push(`updated_at < $${param(filter.updatedBefore)}`);
    if (filter.completedBefore !== undefined) where.push(`completed_at < $${param(filter.completedBefore)}`);
    const desc = filter.order === 'desc';
    if (filter.after) {
      where.push(`seq ${desc ? '<' : '>'} coalesce((SELECT seq FROM resources WHERE id = $${param(filter.after)}), 0)`);
    }
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
    const { rows } = await this.db.query<ResourceRow>(
      `SELECT * FROM resources ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${desc ? 'DESC' : 'ASC'} LIMIT ${limit}`,
      params,
    );
    return rows.map(toRecord);
  }

  /**
   * One statement, so one round trip per checkpoint: the update happens only if the
   * resource is live, does not move backwards and (with a fence) the lease still has that
   * token — read under a share lock, so a takeover waits for it; the index entries go in
   * with it. When nothing was updated, a second look says why.
   */
  async checkpoint(id: string, cp: CatalogCheckpoint): Promise<ResourceRecord> {
    const now = Date.now();
    const { rows } = await this.db.query<ResourceRow>(
      `WITH lease AS (SELECT token FROM writer_leases WHERE resource_id = $1 FOR SHARE),
       updated AS (
         UPDATE resources SET size = $2, newlines = $3, lines = $4, state = $5, checksum = coalesce($6, checksum),
           checksums = coalesce($13::jsonb, checksums),
           error = coalesce($7, error), updated_at = $8, completed_at = $9
         WHERE id = $1 AND ${LIVE} AND size <= $2 AND newlines <= $3
           AND ($10::bigint IS NULL OR EXISTS (SELECT 1 FROM lease WHERE token = $10))
         RETURNING *),
       indexed AS (
         INSERT INTO line_index (resource_id, block, "offset")
         SELECT $1, block, "offset" FROM unnest($11::bigint[], $12::bigint[]) AS e(block, "offset") WHERE EXISTS (SELECT 1 FROM updated)
         ON CONFLICT (resource_id, block) DO UPDATE SET "offset" = excluded."offset")
       SELECT * FROM updated`,
      [
        id,
        cp.size,
        cp.newlines,
        cp.lines,
        cp.state,
        cp.checksum ?? null,
        cp.error ?? null,
        now,
        isTerminal(cp.state) ? now : null,
        cp.fence ?? null,
        cp.indexEntries.map((e) => e.block),
        cp.indexEntries.map((e) => e.offset),
        cp.checksums ? JSON.stringify(cp.checksums) : null,
      ],
    );
    const updated = rows[0];
    if (updated) return toRecord(updated);
    throw await this.refusal(id, cp);
  }

  /** Why a checkpoint changed nothing, checked in the order the rules apply. */
  private async refusal(id: string, cp: CatalogCheckpoint): Promise<SpoolError> {
    const { rows } = await this.db.query<{ state: string; size: number; newlines: number; token: number | null }>(
      'SELECT r.state, r.size, r.newlines, l.token FROM resources r LEFT JOIN writer_leases l ON l.resource_id = r.id WHERE r.id = $1',
      [id],
    );
    const current = rows[0];
    if (!current) return new ResourceNotFoundError(id);
    if (cp.fence !== undefined && current.token !== cp.fence) return new WriterFencedError(id);
    if (isTerminal(current.state as CatalogCheckpoint['state'])) return new ResourceTerminalError(id, current.state);
    return new SpoolError(ErrorCode.INTERNAL, `Checkpoint of ${id} would move backwards`, { from: current.size, to: cp.size });
  }

  async lineBlockOffset(id: string, block: number): Promise<number | undefined> {
    if (block === 0) return 0;
    const { rows } = await this.db.query<{ offset: number }>('SELECT "offset" FROM line_index WHERE resource_id = $1 AND block = $2', [
      id,
      block,
    ]);
    return rows[0]?.offset;
  }

  async truncate(id: string, size: number, newlines: number, lines: number): Promise<void> {
    await this.db.transaction(async (client) => {
      await client.query('DELETE FROM line_index WHERE resource_id = $1 AND "offset" > $2', [id, size]);
      await client.query('UPDATE resources SET size = $2, newlines = $3, lines = $4, updated_at = $5 WHERE id = $1', [
        id,
        size,
        newlines,
        lines,
        Date.now(),
      ]);
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.db.transaction(async (client) => {
      await client.query('DELETE FROM line_index WHERE resource_id = $1', [id]);
      await client.query('DELETE FROM writer_leases WHERE resource_id = $1', [id]);
      await client.query('DELETE FROM inline_bytes WHERE resource_id = $1', [id]);
      const { rowCount } = await client.query('DELETE FROM resources WHERE id = $1', [id]);
      return (rowCount ?? 0) > 0;
    });
  }

  async close(): Promise<void> {
    await this.db.release();
  }

  private async one(sql: string, params: unknown[]): Promise<ResourceRecord | undefined> {
    const { rows } = await this.db.query<ResourceRow>(sql, params);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }
}
