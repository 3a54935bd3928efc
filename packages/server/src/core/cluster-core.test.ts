/**
 * Several cores ("nodes") in one process, sharing what a cluster shares: a PostgreSQL
 * catalog with writer leases, Redis events, and a shared directory or PostgreSQL chunks
 * for bytes. The multi-process version (real server processes, kill -9, a Redis restart)
 * is test/src/cluster.test.ts.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, type ResourceStatus, type SpoolError, TransferState } from '@spool/common';
import { expect } from 'chai';
import { CachingCatalog } from './catalog/caching-catalog.js';
import { PostgresCatalog } from './catalog/postgres-catalog.js';
import { RedisEventBus } from './events/redis-event-bus.js';
import { PostgresWriterLeases } from './leases/postgres-writer-leases.js';
import type { PostgresDatabase } from './postgres/database.js';
import { SpoolCore } from './spool-core.js';
import type { ByteStore } from './storage/byte-store.js';
import { PostgresByteStore } from './storage/postgres-byte-store.js';
import { SharedDirByteStore } from './storage/shared-dir-byte-store.js';
import { TEST_CORE_OPTIONS } from './testing/core-options.js';
import { freshRedisPrefix, quietLogger, TEST_REDIS_URL, usePostgresDatabase } from './testing/engines.js';
import { freshTempDir } from './testing/temp-dirs.js';

const OPTIONS = TEST_CORE_OPTIONS;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

for (const bytes of ['shared-dir', 'postgres'] as const) {
  describe(`Cluster core: nodes on PostgreSQL, Redis and ${bytes} bytes`, function () {
    this.timeout(30_000);
    const database = usePostgresDatabase();
    let db: PostgresDatabase;
    let prefix: string;
    let sharedDir: string;
    const cores: SpoolCore[] = [];

    before(async () => {
      db = await database.connect();
    });
    after(() => db.release());
    beforeEach(() => {
      prefix = freshRedisPrefix();
      sharedDir = freshTempDir('cluster');
    });
    afterEach(async () => {
      for (const core of cores.splice(0)) await core.close();
    });

    async function node(ttlMs = 60_000, options: Partial<typeof OPTIONS> = {}): Promise<SpoolCore> {
      const logger = quietLogger();
      const bus = await RedisEventBus.connect(TEST_REDIS_URL, prefix, logger);
      const catalog = new CachingCatalog(new PostgresCatalog(db));
      await catalog.shareInvalidations(bus);
      const store: ByteStore = bytes === 'shared-dir' ? new SharedDirByteStore(sharedDir) : new PostgresByteStore(db);
      const leases = await PostgresWriterLeases.start(db, { ttlMs, logger });
      const core = new SpoolCore({ catalog, store, bus, leases, logger }, { ...OPTIONS, ...options });
      await core.start();
      cores.push(core);
      return core;
    }

    it('an upload on node A is followed live on node B, status in order and bytes byte-exact', async () => {
      const [a, b] = [await node(), await node()];
      const session = await a.createUpload({ filename: 'x.log', mimeType: 'text/plain', supportsLineAccess: true });
      const seen: ResourceStatus[] = [];
      const unsubscribe = await b.subscribe(session.id, (s) => seen.push(s));
      const parts = Array.from({ length: 20 }, (_, i) => Buffer.from(`line ${i} ${'x'.repeat(i * 100)}\n`));
      for (const part of parts) {
        session.write(part);
        await session.checkpoint();
      }
      const done = await session.finish();
      await until(() => seen.at(-1)?.state === TransferState.COMPLETED, 'COMPLETED on B');
      unsubscribe();
      for (let i = 1; i < seen.length; i++) expect((seen[i] as ResourceStatus).size).to.be.at.least((seen[i - 1] as ResourceStatus).size);
      expect(seen.at(-1)).to.include({ state: 'COMPLETED', size: done.size, lines: 20 });
      const whole = Buffer.concat(parts);
      const read: Buffer[] = [];
      for await (const chunk of await b.openRange(session.id, 0, whole.length)) read.push(chunk as Buffer);
      expect(sha256(Buffer.concat(read))).to.equal(sha256(whole));
      expect((await b.readLines(session.id, 19, 1))[0]?.toString()).to.equal(parts[19]?.toString());
    });

    it('reads a remote upload’s new bytes once per node into its window, for every follower there', async () => {
      const [a, b] = [await node(), await node()];
      const session = await a.createUpload({ filename: 'w.log', mimeType: 'text/plain', supportsLineAccess: false });
      const got: ResourceStatus[] = [];
      await b.subscribe(session.id, (s) => got.push(s));
      session.write(Buffer.from('0123456789'));
      await session.checkpoint();
      await until(() => got.at(-1)?.size === 10, 'size 10 on B');
      // The listener ran once the bytes were in B's memory: no store read needed.
      expect(b.recentBytes(session.id, 0, 10)?.map(String).join('')).to.equal('0123456789');
      await session.finish();
    });

    it('resumes on node B an upload node A released, and a stale writer of a paused A is fenced out', async () => {
      const [a, b] = [await node(), await node()];
      const first = await a.createUpload({ filename: 'r.log', mimeType: 'text/plain', supportsLineAccess: true }, { resumable: true });
      first.write(Buffer.from('one\n'));
      await first.checkpoint();
      await first.release();
      // Released: B continues at once, same lease token, and releases again.
      const second = await b.resumeUpload(first.id, 4);
      second.write(Buffer.from('two\n'));
      await second.checkpoint();
      // Now B "pauses": its lease runs out without being renewed, and A takes the upload over.
      await db.pool.query("UPDATE writer_leases SET expires_at = now() - interval '1 second' WHERE resource_id = $1", [first.id]);
      const third = await a.resumeUpload(first.id, 8);
      const errors: SpoolError[] = [];
      second.on('error', (err: SpoolError) => errors.push(err));
      const followed: ResourceStatus[] = [];
      await a.subscribe(first.id, (s) => followed.push(s));
      third.write(Buffer.from('three\n'));
      await third.checkpoint();
      // B wakes up and writes on: refused, and nothing of it is recorded or published.
      let late: unknown;
      try {
        second.write(Buffer.from('STALE\n'));
        await second.checkpoint();
      } catch (err) {
        late = err;
      }
      await until(() => errors.length > 0 || (late as SpoolError | undefined)?.code !== undefined, 'the stale writer refused');
      const refusal = (errors[0] ?? late) as SpoolError;
      expect(refusal.code).to.equal(ErrorCode.WRITER_CONFLICT);
      const done = await third.finish();
      expect(done).to.include({ state: 'COMPLETED', size: 14, lines: 3 });
      const read: Buffer[] = [];
      for await (const chunk of await b.openRange(first.id, 0, 14)) read.push(chunk as Buffer);
      expect(Buffer.concat(read).toString()).to.equal('one\ntwo\nthree\n');
      expect(followed.map((s) => s.state)).to.not.include('FAILED');
      expect(b.activeUpload(first.id)).to.equal(undefined);
    });

    it('shows bytes written on node A to readers on node B before any checkpoint, and a takeover keeps them', async () => {
      // Checkpoints an hour apart: whatever B sees, it sees because A wrote it.
      const slow = { checkpointIntervalMs: 3_600_000 };
      const [a, b] = [await node(60_000, slow), await node(60_000, slow)];
      const session = await a.createUpload({ filename: 'v.log', mimeType: 'text/plain', supportsLineAccess: true }, { resumable: true });
      const seen: ResourceStatus[] = [];
      await b.subscribe(session.id, (s) => seen.push(s));
      session.write(Buffer.from('seen before any checkpoint\n'));
      await until(() => seen.at(-1)?.size === 27, 'the written bytes visible on B');
      expect((await a.getRecord(session.id)).size).to.equal(0); // not recorded yet
      expect((await b.getStatus(session.id)).size).to.equal(27);
      expect((await b.read(session.id, 0, 27)).toString()).to.equal('seen before any checkpoint\n');
      // A dies (its leases go) before recording them: B takes over at what readers saw, not less.
      await (a as unknown as { leases: PostgresWriterLeases }).leases.close();
      const resumed = await b.resumeUpload(session.id, 27);
      resumed.write(Buffer.from('and after\n'));
      const done = await resumed.finish();
      expect(done).to.include({ state: 'COMPLETED', size: 37, lines: 2 });
      for (let i = 1; i < seen.length; i++) expect((seen[i] as ResourceStatus).size).to.be.at.least((seen[i - 1] as ResourceStatus).size);
      expect((await b.read(session.id, 0, 37)).toString()).to.equal('seen before any checkpoint\nand after\n');
    });

    it('tells every node’s cache of a delete', async () => {
      const [a, b] = [await node(), await node()];
      const session = await a.createUpload({ filename: 'd.log', mimeType: 'text/plain', supportsLineAccess: false });
      session.write(Buffer.from('bye'));
      await session.finish();
      expect(await b.getRecord(session.id)).to.include({ state: 'COMPLETED' }); // cached on B now
      await a.delete(session.id);
      let gone: SpoolError | undefined;
      for (let i = 0; i < 100 && !gone; i++) {
        gone = (await b.getRecord(session.id).then(
          () => undefined,
          (e: SpoolError) => e,
        )) as SpoolError | undefined;
        if (!gone) await new Promise((r) => setTimeout(r, 20));
      }
      expect(gone?.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    });

    it('recovers on a starting node the upload of a node that died, resumable at its last checkpoint', async () => {
      const a = await node();
      const session = await a.createUpload({ filename: 'k.log', mimeType: 'text/plain', supportsLineAccess: true }, { resumable: true });
      session.write(Buffer.from('kept\n'));
      await session.checkpoint();
      // What kill -9 does to A's leases: its node lock goes (bytes past the checkpoint: test/src/cluster.test.ts).
      await (a as unknown as { leases: PostgresWriterLeases }).leases.close();
      const b = await node();
      const resumed = await b.resumeUpload(session.id, 5);
      resumed.write(Buffer.from('more\n'));
      const done = await resumed.finish();
      expect(done).to.include({ state: 'COMPLETED', size: 10 });
      const read: Buffer[] = [];
      for await (const chunk of await b.openRange(session.id, 0, 10)) read.push(chunk as Buffer);
      expect(Buffer.concat(read).toString()).to.equal('kept\nmore\n');
    });
  });
}
