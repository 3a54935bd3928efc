import { randomBytes } from 'node:crypto';
import type { Logger } from 'winston';
import winston from 'winston';
import { PostgresDatabase } from '../postgres/database.js';

/**
 * Real PostgreSQL and Redis for tests of the cluster implementations (CI starts both, see
 * .ci/run). Each test file gets its own database (`spool_test_<random>`) or key prefix and
 * drops it at the end. An engine that cannot be reached fails the test with a message
 * saying so: these tests never pass silently without it.
 */
export const TEST_POSTGRES_URL = process.env.SPOOL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.SPOOL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const quietLogger = (): Logger => winston.createLogger({ silent: true });

/** The URL of `base` naming database `name` instead. */
export function withDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(work: (query: (sql: string) => Promise<unknown>) => Promise<T>): Promise<T> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL for tests is not reachable at ${TEST_POSTGRES_URL} (start it: .ci/run does): ${(err as Error).message}`);
  }
  try {
    return await work((sql) => client.query(sql));
  } finally {
    await client.end();
  }
}

/** A new empty database; `drop()` removes it (and ends connections still using it). */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `spool_test_${randomBytes(6).toString('hex')}`;
  await admin((query) => query(`CREATE DATABASE ${name}`));
  return {
    url: withDatabase(TEST_POSTGRES_URL, name),
    drop: () => admin((query) => query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * For a test file: a fresh database created before its tests and dropped after them, and
 * `connect()` for a migrated PostgresDatabase on it (each caller releases its own).
 */
export function usePostgresDatabase(): { readonly url: string; connect: () => Promise<PostgresDatabase> } {
  let fresh: { url: string; drop: () => Promise<void> } | undefined;
  before(async () => {
    fresh = await freshPostgresDatabase();
  });
  after(async () => {
    await fresh?.drop();
  });
  return {
    get url() {
      if (!fresh) throw new Error('the test database is made in a before() hook');
      return fresh.url;
    },
    connect() {
      return PostgresDatabase.connect(this.url, quietLogger());
    },
  };
}

/** A key prefix no other test run uses (`spool_test_<random>:`). */
export const freshRedisPrefix = (): string => `spool_test_${randomBytes(6).toString('hex')}:`;
