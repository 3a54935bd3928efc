import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { PostgresDatabase } from '../postgres/database.js';
import { POSTGRES_MIGRATIONS } from '../postgres/migrations.js';
import { freshPostgresDatabase, quietLogger, usePostgresDatabase } from '../testing/engines.js';
import { catalogContract } from './catalog.contract.js';
import { PostgresCatalog } from './postgres-catalog.js';

describe('PostgresCatalog', () => {
  const database = usePostgresDatabase();
  // Each contract test starts from an empty catalog: the tables are emptied, the schema stays.
  catalogContract('PostgresCatalog', async () => {
    const db = await database.connect();
    await db.pool.query('TRUNCATE resources, line_index, writer_leases, resource_chunks, inline_bytes RESTART IDENTITY');
    const catalog = new PostgresCatalog(db);
    await db.release();
    return catalog;
  });

  it('applies its migrations once, also when nodes start together, and keeps the data across reopen', async () => {
    const [a, b, c] = await Promise.all([database.connect(), database.connect(), database.connect()]);
    const { rows } = await a.pool.query<{ version: number }>('SELECT version FROM spool_schema');
    expect(rows).to.have.length(1);
    const first = new PostgresCatalog(a);
    await first.create({ id: 'kept', filename: 'k.log', mimeType: 'text/plain', supportsLineAccess: true, contextId: null });
    expect(await new PostgresCatalog(b).get('kept')).to.include({ id: 'kept', state: 'INITIATED' });
    for (const db of [a, b, c]) await db.release();
  });

  it('refuses, atomically with the update, the checkpoint of a writer whose lease moved', async () => {
    const db = await database.connect();
    const catalog = new PostgresCatalog(db);
    await catalog.create({ id: 'fenced', filename: 'f.log', mimeType: 'text/plain', supportsLineAccess: true, contextId: null });
    await db.pool.query("INSERT INTO writer_leases VALUES ('fenced', 7, 1, TRUE, now())");
    const cp = { size: 3, newlines: 0, lines: 0, state: 'IN_PROGRESS' as const, indexEntries: [{ block: 1, offset: 2 }] };
    expect(await catalog.checkpoint('fenced', { ...cp, fence: 7 })).to.include({ size: 3 });
    const stale = (await catalog.checkpoint('fenced', { ...cp, size: 9, fence: 6 }).catch((e: unknown) => e)) as SpoolError;
    expect(stale.code).to.equal(ErrorCode.WRITER_CONFLICT);
    expect(stale.details).to.include({ fenced: true });
    expect(await catalog.get('fenced')).to.include({ size: 3 });
    await catalog.close();
    await db.release();
  });

  it('gives a name to one of several nodes creating it at once', async () => {
    const db = await database.connect();
    const nodes = [new PostgresCatalog(db), new PostgresCatalog(db), new PostgresCatalog(db)];
    const results = await Promise.allSettled(
      nodes.map((catalog, i) =>
        catalog.create({
          id: `race${i}`,
          name: 'race/one',
          filename: 'r',
          mimeType: 'text/plain',
          supportsLineAccess: true,
          contextId: null,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    for (const catalog of nodes) await catalog.close();
    await db.release();
  });

  it('migrates a schema of before several checksums: the MD5s recorded so far are among them', async () => {
    const fresh = await freshPostgresDatabase();
    try {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      await client.query(POSTGRES_MIGRATIONS[0] as string);
      await client.query('CREATE TABLE spool_schema (version INTEGER NOT NULL); INSERT INTO spool_schema VALUES (1)');
      await client.query(
        `INSERT INTO resources (id, filename, mime_type, supports_line_access, state, size, checksum, created_at, updated_at)
         VALUES ('old', 'old.log', 'text/plain', TRUE, 'COMPLETED', 9, 'ff', 1, 1), ('none', 'n.log', 'text/plain', TRUE, 'COMPLETED', 0, NULL, 1, 1)`,
      );
      await client.end();
      const db = await PostgresDatabase.connect(fresh.url, quietLogger());
      const catalog = new PostgresCatalog(db);
      expect(await catalog.get('old')).to.include({ checksum: 'ff' });
      expect((await catalog.get('old'))?.checksums).to.deep.equal({ md5: 'ff' });
      expect((await catalog.get('none'))?.checksums).to.deep.equal({});
      await catalog.close();
      await db.release();
    } finally {
      await fresh.drop();
    }
  });
});
