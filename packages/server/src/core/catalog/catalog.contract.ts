import { ErrorCode, SpoolError, TransferState } from '@spool/common';
import { expect } from 'chai';
import type { Catalog } from './catalog.js';

/**
 * The behaviour every Catalog implementation must show. Call inside a test file with a
 * factory for a fresh, empty catalog.
 */
export function catalogContract(name: string, open: () => Promise<Catalog>): void {
  describe(`Catalog contract: ${name}`, () => {
    let catalog: Catalog;
    beforeEach(async () => {
      catalog = await open();
    });
    afterEach(async () => {
      await catalog.close();
    });

    const meta = (id: string, extra: { contextId?: string | null; filename?: string } = {}) => ({
      id,
      filename: extra.filename ?? `${id}.log`,
      mimeType: 'text/plain',
      supportsLineAccess: true,
      contextId: extra.contextId ?? null,
    });

    it('creates INITIATED resources with size 0 and reads them back', async () => {
      const created = await catalog.create(meta('a'));
      expect(created).to.include({ id: 'a', state: 'INITIATED', size: 0, newlines: 0, lines: 0, filename: 'a.log' });
      expect(await catalog.get('a')).to.deep.equal(created);
      expect(await catalog.get('missing')).to.equal(undefined);
    });

    it('refuses a duplicate id', async () => {
      await catalog.create(meta('dup'));
      let caught: unknown;
      await catalog.create(meta('dup')).catch((e: unknown) => {
        caught = e;
      });
      expect(caught).to.be.instanceOf(Error);
    });

    it('records checkpoints with index entries atomically and never backwards', async () => {
      await catalog.create(meta('c'));
      await catalog.checkpoint('c', {
        size: 100,
        newlines: 300,
        lines: 300,
        state: 'IN_PROGRESS',
        indexEntries: [{ block: 1, offset: 40 }],
      });
      expect(await catalog.lineBlockOffset('c', 0)).to.equal(0);
      expect(await catalog.lineBlockOffset('c', 1)).to.equal(40);
      expect(await catalog.lineBlockOffset('c', 2)).to.equal(undefined);
      const err = await catalog
        .checkpoint('c', { size: 50, newlines: 300, lines: 300, state: 'IN_PROGRESS', indexEntries: [] })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(SpoolError);
      expect((await catalog.get('c'))?.size).to.equal(100);
    });

    it('keeps terminal states final', async () => {
      await catalog.create(meta('t'));
      const done = await catalog.checkpoint('t', {
        size: 5,
        newlines: 1,
        lines: 2,
        state: TransferState.COMPLETED,
        checksum: 'abc',
        indexEntries: [],
      });
      expect(done).to.include({ state: 'COMPLETED', checksum: 'abc', lines: 2 });
      expect(done.completedAt).to.be.a('number');
      const err = (await catalog
        .checkpoint('t', { size: 6, newlines: 1, lines: 2, state: 'FAILED', indexEntries: [] })
        .catch((e: unknown) => e)) as SpoolError;
      expect(err.code).to.equal(ErrorCode.RESOURCE_TERMINAL);
    });

    it('keeps every checksum of a resource: none before the end, all of them with it', async () => {
      const created = await catalog.create(meta('k'));
      expect(created.checksums).to.deep.equal({});
      const open = await catalog.checkpoint('k', { size: 3, newlines: 0, lines: 0, state: 'IN_PROGRESS', indexEntries: [] });
      expect(open.checksums).to.deep.equal({});
      const checksums = { crc32: 'cbf43926', sha256: 'ab'.repeat(32) };
      const done = await catalog.checkpoint('k', { size: 9, newlines: 0, lines: 1, state: 'COMPLETED', checksums, indexEntries: [] });
      expect(done.checksums).to.deep.equal(checksums);
      expect(done.checksum).to.equal(null);
      expect((await catalog.get('k'))?.checksums).to.deep.equal(checksums);
      expect((await catalog.list({ state: 'COMPLETED' })).find((r) => r.id === 'k')?.checksums).to.deep.equal(checksums);
    });

    it('fails a checkpoint of an unknown resource with RESOURCE_NOT_FOUND', async () => {
      const err = (await catalog
        .checkpoint('nope', { size: 1, newlines: 0, lines: 0, state: 'IN_PROGRESS', indexEntries: [] })
        .catch((e: unknown) => e)) as SpoolError;
      expect(err.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    });

    it('holds a name for one live resource at a time, and resolves it to the live one, else the newest', async () => {
      const first = await catalog.create({ ...meta('n1'), name: 'ci/1/build.log' });
      expect(first).to.include({ name: 'ci/1/build.log' });
      expect(first.attributes).to.deep.equal({});
      const taken = await catalog.create({ ...meta('n2'), name: 'ci/1/build.log' }).catch((err: SpoolError) => err);
      expect((taken as SpoolError).code).to.equal(ErrorCode.NAME_TAKEN);
      expect(await catalog.get('n2')).to.equal(undefined);
      await catalog.checkpoint('n1', { size: 0, newlines: 0, lines: 0, state: 'COMPLETED', indexEntries: [] });
      expect((await catalog.findByName('ci/1/build.log'))?.id).to.equal('n1');
      await catalog.create({ ...meta('n3'), name: 'ci/1/build.log' });
      expect((await catalog.findByName('ci/1/build.log'))?.id).to.equal('n3');
      await catalog.checkpoint('n3', { size: 0, newlines: 0, lines: 0, state: 'FAILED', indexEntries: [] });
      expect((await catalog.findByName('ci/1/build.log'))?.id).to.equal('n3');
      expect(await catalog.findByName('ci/2/build.log')).to.equal(undefined);
      // Unique forever: taken by any resource that ever had it.
      const forever = await catalog.create({ ...meta('n4'), name: 'ci/1/build.log' }, { uniqueName: 'always' }).catch((e: SpoolError) => e);
      expect((forever as SpoolError).code).to.equal(ErrorCode.NAME_TAKEN);
      await catalog.create({ ...meta('n5'), name: 'blobs/b1' }, { uniqueName: 'always' });
    });

    it('lists names under a prefix, oldest or newest first, with paging, and sums their usage', async () => {
      for (const [id, name, size] of [
        ['p1', 'u/a%/x', 3],
        ['p2', 'u/a%/y', 5],
        ['p3', 'u/ab/z', 7],
        ['p4', null, 11],
      ] as const) {
        await catalog.create({ ...meta(id), name });
        await catalog.checkpoint(id, { size, newlines: 0, lines: 0, state: 'IN_PROGRESS', indexEntries: [] });
      }
      expect((await catalog.list({ nameStartsWith: 'u/a%/' })).map((r) => r.id)).to.deep.equal(['p1', 'p2']);
      expect((await catalog.list({ nameStartsWith: 'u/', order: 'desc' })).map((r) => r.id)).to.deep.equal(['p3', 'p2', 'p1']);
      expect((await catalog.list({ nameStartsWith: 'u/', order: 'desc', limit: 2, after: 'p3' })).map((r) => r.id)).to.deep.equal([
        'p2',
        'p1',
      ]);
      expect((await catalog.list({ order: 'desc', limit: 1 })).map((r) => r.id)).to.deep.equal(['p4']);
      expect(await catalog.usage('u/a%/')).to.deep.equal({ count: 2, bytes: 8 });
      expect(await catalog.usage('u/')).to.deep.equal({ count: 3, bytes: 15 });
      expect(await catalog.usage('nobody/')).to.deep.equal({ count: 0, bytes: 0 });
    });

    it('replaces attributes, also of a terminal resource', async () => {
      await catalog.create({ ...meta('t1'), attributes: { flags: '[]' } });
      expect((await catalog.get('t1'))?.attributes).to.deep.equal({ flags: '[]' });
      await catalog.checkpoint('t1', { size: 0, newlines: 0, lines: 0, state: 'COMPLETED', indexEntries: [] });
      await catalog.get('t1');
      expect((await catalog.setAttributes('t1', { flags: '["PROCESSED"]' })).attributes).to.deep.equal({ flags: '["PROCESSED"]' });
      expect((await catalog.get('t1'))?.attributes).to.deep.equal({ flags: '["PROCESSED"]' });
      const missing = await catalog.setAttributes('nope', {}).catch((err: SpoolError) => err);
      expect((missing as SpoolError).code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    });

    it('lists by state, context and name prefix, in creation order, with paging', async () => {
      for (const id of ['r1', 'r2', 'r3', 'r4'])
        await catalog.create(meta(id, { contextId: id === 'r4' ? 'ctx' : null, filename: `${id === 'r2' ? 'build_%' : 'test'}-${id}` }));
      await catalog.checkpoint('r3', { size: 0, newlines: 0, lines: 0, state: 'FAILED', indexEntries: [] });
      expect((await catalog.list()).map((r) => r.id)).to.deep.equal(['r1', 'r2', 'r3', 'r4']);
      expect((await catalog.list({ state: 'FAILED' })).map((r) => r.id)).to.deep.equal(['r3']);
      expect((await catalog.list({ contextId: 'ctx' })).map((r) => r.id)).to.deep.equal(['r4']);
      expect((await catalog.list({ filenamePrefix: 'build_%' })).map((r) => r.id)).to.deep.equal(['r2']);
      expect((await catalog.list({ filenamePrefix: 'build__' })).map((r) => r.id)).to.deep.equal([]);
      expect((await catalog.list({ limit: 2 })).map((r) => r.id)).to.deep.equal(['r1', 'r2']);
      expect((await catalog.list({ limit: 2, after: 'r2' })).map((r) => r.id)).to.deep.equal(['r3', 'r4']);
    });

    it('keeps resumability and capability hashes, and filters by update and completion time', async () => {
      const created = await catalog.create({
        ...meta('f1'),
        resumable: true,
        writeTokenHash: 'w'.repeat(64),
        readTokenHash: 'r'.repeat(64),
      });
      expect(created).to.include({ resumable: true, writeTokenHash: 'w'.repeat(64), readTokenHash: 'r'.repeat(64) });
      expect(await catalog.create(meta('f2'))).to.include({ resumable: false, writeTokenHash: null, readTokenHash: null });
      await catalog.checkpoint('f2', { size: 0, newlines: 0, lines: 0, state: 'COMPLETED', indexEntries: [] });
      const later = Date.now() + 60_000;
      expect((await catalog.list({ updatedBefore: later })).map((r) => r.id)).to.deep.equal(['f1', 'f2']);
      expect((await catalog.list({ updatedBefore: 0 })).map((r) => r.id)).to.deep.equal([]);
      expect((await catalog.list({ completedBefore: later })).map((r) => r.id)).to.deep.equal(['f2']);
    });

    it('finds a resource by the hash of its write or read token, and nothing once deleted', async () => {
      await catalog.create({ ...meta('tok'), writeTokenHash: 'a'.repeat(64), readTokenHash: 'b'.repeat(64) });
      await catalog.create({ ...meta('other'), writeTokenHash: 'c'.repeat(64), readTokenHash: 'd'.repeat(64) });
      await catalog.create(meta('none'));
      expect((await catalog.findByTokenHash('a'.repeat(64)))?.id).to.equal('tok');
      expect((await catalog.findByTokenHash('b'.repeat(64)))?.id).to.equal('tok');
      expect((await catalog.findByTokenHash('d'.repeat(64)))?.id).to.equal('other');
      expect(await catalog.findByTokenHash('e'.repeat(64))).to.equal(undefined);
      await catalog.delete('tok');
      expect(await catalog.findByTokenHash('a'.repeat(64))).to.equal(undefined);
    });

    it('truncates size, counts and index entries past the new size', async () => {
      await catalog.create(meta('x'));
      await catalog.checkpoint('x', {
        size: 1000,
        newlines: 600,
        lines: 600,
        state: 'IN_PROGRESS',
        indexEntries: [
          { block: 1, offset: 300 },
          { block: 2, offset: 700 },
        ],
      });
      await catalog.truncate('x', 500, 400, 400);
      expect(await catalog.get('x')).to.include({ size: 500, newlines: 400, lines: 400 });
      expect(await catalog.lineBlockOffset('x', 1)).to.equal(300);
      expect(await catalog.lineBlockOffset('x', 2)).to.equal(undefined);
    });

    it('shows every change of an open resource, then its final record until it is deleted', async () => {
      await catalog.create(meta('live'));
      expect(await catalog.get('live')).to.include({ state: 'INITIATED', size: 0 });
      await catalog.checkpoint('live', { size: 5, newlines: 1, lines: 1, state: 'IN_PROGRESS', indexEntries: [] });
      expect(await catalog.get('live')).to.include({ state: 'IN_PROGRESS', size: 5 });
      await catalog.checkpoint('live', { size: 7, newlines: 1, lines: 2, state: 'COMPLETED', indexEntries: [] });
      expect(await catalog.get('live')).to.include({ state: 'COMPLETED', size: 7, lines: 2 });
      expect(await catalog.get('live')).to.include({ state: 'COMPLETED', size: 7, lines: 2 });
      expect(await catalog.delete('live')).to.equal(true);
      expect(await catalog.get('live')).to.equal(undefined);
      await catalog.create(meta('live'));
      expect(await catalog.get('live')).to.include({ state: 'INITIATED', size: 0 });
    });

    it('deletes a resource and its index', async () => {
      await catalog.create(meta('d'));
      await catalog.checkpoint('d', { size: 10, newlines: 256, lines: 256, state: 'IN_PROGRESS', indexEntries: [{ block: 1, offset: 9 }] });
      expect(await catalog.delete('d')).to.equal(true);
      expect(await catalog.get('d')).to.equal(undefined);
      expect(await catalog.lineBlockOffset('d', 1)).to.equal(undefined);
      expect(await catalog.delete('d')).to.equal(false);
    });

    describe('small resources stored whole (createWhole, readInline)', () => {
      const whole = (id: string, bytes: string, name: string | null = `blobs/${id}`) => ({
        resource: { ...meta(id), name, supportsLineAccess: false },
        bytes: Buffer.from(bytes),
      });

      it('records many resources COMPLETED with their bytes, in order, in one call', async () => {
        const created = await catalog.createWhole([whole('w1', 'one'), whole('w2', ''), whole('w3', 'x'.repeat(3000))], {
          uniqueName: 'always',
        });
        expect(created.refused).to.equal(undefined);
        expect(created.records.map((r) => [r.id, r.state, r.size, r.inline])).to.deep.equal([
          ['w1', 'COMPLETED', 3, true],
          ['w2', 'COMPLETED', 0, true],
          ['w3', 'COMPLETED', 3000, true],
        ]);
        expect(created.records[0]?.completedAt).to.be.a('number');
        expect(await catalog.get('w1')).to.deep.equal(created.records[0]);
        const bytes = await catalog.readInline(['w3', 'w1', 'w2', 'unknown']);
        expect([...bytes.keys()].sort()).to.deep.equal(['w1', 'w2', 'w3']);
        expect(bytes.get('w1')?.toString()).to.equal('one');
        expect(bytes.get('w2')?.length).to.equal(0);
        expect(bytes.get('w3')?.toString()).to.equal('x'.repeat(3000));
        expect(await catalog.usage('blobs/')).to.deep.equal({ count: 3, bytes: 3003 });
        expect((await catalog.list({ nameStartsWith: 'blobs/' })).map((r) => r.id)).to.deep.equal(['w1', 'w2', 'w3']);
        expect((await catalog.findByName('blobs/w2'))?.id).to.equal('w2');
      });

      it('gives every byte back exactly: NULs, bytes that are not UTF-8, only empty resources', async () => {
        const all = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
        const invalidUtf8 = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x00, 0x80]);
        await catalog.createWhole([
          { ...whole('b1', ''), bytes: all },
          { ...whole('b2', ''), bytes: invalidUtf8 },
          whole('b3', ''),
          whole('b4', ''),
        ]);
        const bytes = await catalog.readInline(['b2', 'b1', 'b3']);
        expect(bytes.get('b1')?.equals(all)).to.equal(true);
        expect(bytes.get('b2')?.equals(invalidUtf8)).to.equal(true);
        expect(bytes.get('b3')?.length).to.equal(0);
        const empty = await catalog.readInline(['b4']);
        expect([...empty.keys()]).to.deep.equal(['b4']);
        expect(empty.get('b4')?.length).to.equal(0);
      });

      it('keeps resources created otherwise out of the catalog bytes', async () => {
        const created = await catalog.create(meta('file'));
        expect(created.inline).to.equal(false);
        expect((await catalog.readInline(['file'])).size).to.equal(0);
        expect((await catalog.createWhole([])).records).to.deep.equal([]);
      });

      it('stops at the first name taken — also within the batch — keeping those before it', async () => {
        await catalog.create({ ...meta('old'), name: 'blobs/taken' }, { uniqueName: 'always' });
        const created = await catalog.createWhole([whole('a1', 'a'), whole('a2', 'b', 'blobs/taken'), whole('a3', 'c')], {
          uniqueName: 'always',
        });
        expect(created.records.map((r) => r.id)).to.deep.equal(['a1']);
        expect(created.refused?.code).to.equal(ErrorCode.NAME_TAKEN);
        expect(await catalog.get('a2')).to.equal(undefined);
        expect(await catalog.get('a3')).to.equal(undefined);
        const twice = await catalog.createWhole([whole('b1', 'a', 'blobs/same'), whole('b2', 'b', 'blobs/same')], { uniqueName: 'always' });
        expect(twice.records.map((r) => r.id)).to.deep.equal(['b1']);
        expect(twice.refused?.code).to.equal(ErrorCode.NAME_TAKEN);
        expect((await catalog.readInline(['a1', 'a2', 'b1', 'b2'])).size).to.equal(2);
        // A live name only: one that ended may be taken again.
        await catalog.checkpoint('old', { size: 0, newlines: 0, lines: 0, state: 'COMPLETED', indexEntries: [] });
        expect((await catalog.createWhole([whole('c1', 'c', 'blobs/taken')])).records.map((r) => r.id)).to.deep.equal(['c1']);
      });

      it('finds what many names refer to in brief: the live holder, else the newest', async () => {
        await catalog.createWhole([whole('f1', 'abc'), whole('f2', '')]);
        await catalog.create({ ...meta('f3'), name: 'blobs/open' });
        await catalog.create({ ...meta('old'), name: 'blobs/again' });
        await catalog.checkpoint('old', { size: 1, newlines: 0, lines: 0, state: 'FAILED', indexEntries: [] });
        await catalog.create({ ...meta('new'), name: 'blobs/again' });
        await catalog.checkpoint('new', { size: 2, newlines: 0, lines: 0, state: 'IN_PROGRESS', indexEntries: [] });
        const found = await catalog.findNamed(['blobs/f2', 'blobs/f1', 'blobs/open', 'blobs/again', 'blobs/none', 'blobs/f1']);
        expect(Object.fromEntries(found)).to.deep.equal({
          'blobs/f1': { id: 'f1', name: 'blobs/f1', state: 'COMPLETED', size: 3, inline: true },
          'blobs/f2': { id: 'f2', name: 'blobs/f2', state: 'COMPLETED', size: 0, inline: true },
          'blobs/open': { id: 'f3', name: 'blobs/open', state: 'INITIATED', size: 0, inline: false },
          'blobs/again': { id: 'new', name: 'blobs/again', state: 'IN_PROGRESS', size: 2, inline: false },
        });
        expect((await catalog.findNamed([])).size).to.equal(0);
        await catalog.delete('f1');
        expect([...(await catalog.findNamed(['blobs/f1', 'blobs/f2'])).keys()]).to.deep.equal(['blobs/f2']);
      });

      it('deletes the bytes with the resource, and keeps a terminal state final', async () => {
        await catalog.createWhole([whole('gone', 'bytes'), whole('kept', 'more')]);
        const err = await catalog
          .checkpoint('kept', { size: 4, newlines: 0, lines: 0, state: 'FAILED', indexEntries: [] })
          .catch((e: unknown) => e);
        expect((err as SpoolError).code).to.equal(ErrorCode.RESOURCE_TERMINAL);
        expect(await catalog.delete('gone')).to.equal(true);
        expect(await catalog.get('gone')).to.equal(undefined);
        expect([...(await catalog.readInline(['gone', 'kept'])).keys()]).to.deep.equal(['kept']);
      });
    });
  });
}
