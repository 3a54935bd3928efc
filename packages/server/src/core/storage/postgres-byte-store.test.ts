import { expect } from 'chai';
import type { PostgresDatabase } from '../postgres/database.js';
import { usePostgresDatabase } from '../testing/engines.js';
import { byteStoreContract, fencedByteStoreContract } from './byte-store.contract.js';
import { PostgresByteStore } from './postgres-byte-store.js';

describe('PostgresByteStore', () => {
  const database = usePostgresDatabase();
  let db: PostgresDatabase;
  before(async () => {
    db = await database.connect();
  });
  after(() => db.release());
  /** A store on emptied tables (reads still work after its close: the database is closed here, after all tests). */
  const fresh = async () => {
    await db.pool.query('TRUNCATE resource_chunks, writer_leases');
    return new PostgresByteStore(db);
  };
  byteStoreContract('PostgresByteStore', fresh);

  // Here the fence is the lease row itself: take the lease over as a node would before opening.
  fencedByteStoreContract('PostgresByteStore', async () => {
    const store = await fresh();
    const openWriter = store.openWriter.bind(store);
    store.openWriter = async (id, options = {}) => {
      if (options.fence !== undefined) {
        await db.pool.query(
          `INSERT INTO writer_leases (resource_id, token, node_key, held, expires_at) VALUES ($1, $2, 1, TRUE, now())
           ON CONFLICT (resource_id) DO UPDATE SET token = greatest(writer_leases.token, excluded.token)`,
          [id, options.fence],
        );
      }
      return openWriter(id, options);
    };
    return store;
  });

  it('keeps rows of at most 1 MiB, and a range stream reads a few of them at a time', async () => {
    const store = await fresh();
    const writer = await store.openWriter('rows');
    const data = Buffer.alloc(3 * 1024 * 1024 + 5, 1);
    await writer.append([data.subarray(0, 10), data.subarray(10)]);
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT length(data) AS n FROM resource_chunks WHERE resource_id = $1 ORDER BY end_offset',
      ['rows'],
    );
    expect(rows.map((r) => r.n)).to.deep.equal([1024 * 1024, 1024 * 1024, 1024 * 1024, 5]);
    let total = 0;
    for await (const chunk of store.createReadStream('rows', 7, data.length) as AsyncIterable<Buffer>) total += chunk.length;
    expect(total).to.equal(data.length - 7);
    await store.close();
  });
});
