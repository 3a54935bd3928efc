import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import type { PostgresDatabase } from '../postgres/database.js';
import { quietLogger, usePostgresDatabase } from '../testing/engines.js';
import { PostgresWriterLeases } from './postgres-writer-leases.js';

describe('PostgresWriterLeases', () => {
  const database = usePostgresDatabase();
  let db: PostgresDatabase;
  const nodes: PostgresWriterLeases[] = [];
  const node = async (ttlMs = 60_000) => {
    const leases = await PostgresWriterLeases.start(db, { ttlMs, logger: quietLogger() });
    nodes.push(leases);
    return leases;
  };
  before(async () => {
    db = await database.connect();
  });
  afterEach(async () => {
    for (const leases of nodes.splice(0)) await leases.close();
  });
  after(() => db.release());

  it('gives a resource to one node at a time; given back, the next node keeps its token', async () => {
    const [a, b] = [await node(), await node()];
    const lease = await a.acquire('r1');
    const conflict = (await b.acquire('r1').catch((e: unknown) => e)) as SpoolError;
    expect(conflict.code).to.equal(ErrorCode.WRITER_CONFLICT);
    expect(await b.tryAcquire('r1')).to.equal(undefined);
    await lease.release();
    const next = await b.acquire('r1');
    expect(next.token).to.equal(lease.token);
  });

  it('lets another node take over at once the leases of a node that died, with a newer token', async () => {
    const [a, b] = [await node(), await node()];
    const lease = await a.acquire('r2');
    // What kill -9 does to a node's connections: its node lock goes with them.
    await a.close();
    const taken = await b.acquire('r2');
    expect(taken.token).to.equal((lease.token as number) + 1);
  });

  it('takes over the lease of a node that stopped renewing once it ran out; that node hears it lost', async () => {
    const a = await node(600);
    const b = await node(600);
    const lease = await a.acquire('r3');
    let lost = false;
    lease.onLost(() => {
      lost = true;
    });
    // A paused node: alive (its lock held) but not renewing.
    await db.pool.query("UPDATE writer_leases SET expires_at = now() - interval '1 second' WHERE resource_id = 'r3'");
    expect(await b.orphans()).to.include('r3');
    const taken = await b.acquire('r3');
    expect(taken.token).to.equal((lease.token as number) + 1);
    for (let i = 0; i < 50 && !lost; i++) await new Promise((r) => setTimeout(r, 50));
    expect(lost).to.equal(true);
    // The old lease given back late changes nothing: the new holder keeps it.
    await lease.release();
    expect(await a.tryAcquire('r3')).to.equal(undefined);
  });
});
