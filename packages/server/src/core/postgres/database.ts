import { SpoolError, StorageFailureError } from '@spool/common';
import type { Pool, PoolClient, PoolConfig, QueryResult, QueryResultRow } from 'pg';
import type { Logger } from 'winston';
import { redactUrl } from '../redact-url.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';

/** Advisory lock key serialising migrations of nodes that start at once ('spool-mg'). */
const MIGRATION_LOCK = 0x73706f6f6c2d6d67n;
/** Connections per node: checkpoints, reads of line pages, lease renewals, chunk reads. */
const DEFAULT_POOL_SIZE = 16;
/** How long a query may wait for a connection of the pool before it fails (PostgreSQL down or saturated). */
const CONNECT_TIMEOUT_MS = 5_000;

/** What runs a statement: the database (alone) or a transaction's client. */
export interface Queryable {
  query<R extends QueryResultRow>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/**
 * One PostgreSQL database shared by the catalog, the writer leases and the chunk store of
 * a node: one pool, the schema migrated once at start, closed when its last user closes.
 * `pg` is imported here only, and only when a deployment configures PostgreSQL: the
 * embedded default never loads it.
 */
export class PostgresDatabase {
  /** The caller of `connect` holds the first reference. */
  private users = 1;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly pool: Pool,
    readonly url: string,
  ) {}

  /**
   * Connects (failing with a message naming the server if it cannot) and applies the
   * migrations this database has not had, under an advisory lock so nodes starting
   * together apply each once.
   */
  static async connect(url: string, logger: Logger, options: { poolSize?: number } = {}): Promise<PostgresDatabase> {
    const pg = (await import('pg')).default;
    // BIGINT columns (sizes, times) as numbers: they stay below 2^53.
    const types = {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as NonNullable<
        PoolConfig['types']
      >['getTypeParser'],
    };
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      types,
    });
    // An idle connection dropped by the server must not crash the process: the pool replaces it.
    pool.on('error', (err) => logger.warn('PostgreSQL connection lost', { error: err.message }));
    const db = new PostgresDatabase(pool, url);
    try {
      await db.migrate();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error(`Cannot use PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
    }
    return db;
  }

  /** Counts a user; `release` by each (and by the caller of `connect`) closes the pool after the last. */
  retain(): this {
    this.users++;
    return this;
  }

  async release(): Promise<void> {
    if (--this.users > 0) return;
    this.closing ??= this.pool.end();
    await this.closing;
  }

  /** One statement; a lost or refused connection becomes STORAGE_FAILURE (`unavailable`). */
  async query<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Runs `work` in one transaction (rolled back if it throws); connection errors as in `query`. */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw unavailable(err);
    } finally {
      client.release();
    }
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      await client.query('CREATE TABLE IF NOT EXISTS spool_schema (version INTEGER NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM spool_schema');
      let version = rows[0]?.version ?? 0;
      if (rows.length === 0) await client.query('INSERT INTO spool_schema (version) VALUES (0)');
      if (version > POSTGRES_MIGRATIONS.length) {
        throw new Error(
          `its schema (version ${version}) is newer than this server knows (${POSTGRES_MIGRATIONS.length}): upgrade the server`,
        );
      }
      for (; version < POSTGRES_MIGRATIONS.length; version++) await client.query(POSTGRES_MIGRATIONS[version] as string);
      await client.query('UPDATE spool_schema SET version = $1', [version]);
    });
  }
}

/**
 * A connection that failed (refused, lost, timed out, the server shutting down: no SQLSTATE,
 * class 08 or 57P) as STORAGE_FAILURE with a message saying so; anything else as it is
 * (a SpoolError thrown on purpose, a constraint violation).
 */
export function unavailable(err: unknown): unknown {
  if (err instanceof SpoolError) return err;
  const code = (err as { code?: unknown }).code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  if (sqlState && !sqlState.startsWith('08') && !sqlState.startsWith('57P')) return err;
  return new StorageFailureError(`PostgreSQL unavailable: ${(err as Error).message}`, err);
}

/** Whether a PostgreSQL error is a unique violation of `constraint`. */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}
