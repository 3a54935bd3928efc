import { createHash } from 'node:crypto';
import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import type { ByteStore } from './byte-store.js';

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

/** The behaviour every ByteStore implementation must show. */
export function byteStoreContract(name: string, open: () => Promise<ByteStore>): void {
  describe(`ByteStore contract: ${name}`, () => {
    let store: ByteStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('reports 0 bytes for a resource it never saw', async () => {
      expect(await store.size('never')).to.equal(0);
    });

    it('appends in order and serves any range while the writer is open', async () => {
      const writer = await store.openWriter('r1');
      await writer.append([Buffer.from('hello '), Buffer.from('wor')]);
      await writer.append([Buffer.from('ld')]);
      expect(writer.size).to.equal(11);
      expect(await store.size('r1')).to.equal(11);
      expect((await store.read('r1', 0, 11)).toString()).to.equal('hello world');
      expect((await collect(store.createReadStream('r1', 6, 11))).toString()).to.equal('world');
      expect((await collect(store.createReadStream('r1', 3, 3))).length).to.equal(0);
      await writer.sync();
      await writer.close();
    });

    it('reopens a writer at the end of what exists', async () => {
      const w1 = await store.openWriter('r2');
      await w1.append([Buffer.from('abc')]);
      await w1.close();
      const w2 = await store.openWriter('r2');
      expect(w2.size).to.equal(3);
      await w2.append([Buffer.from('def')]);
      await w2.close();
      expect((await store.read('r2', 0, 6)).toString()).to.equal('abcdef');
    });

    it('cuts a resource from its writer, which appends from the cut', async () => {
      const writer = await store.openWriter('cut');
      await writer.append([Buffer.from('kept|dropped')]);
      await writer.truncate(4);
      expect(writer.size).to.equal(4);
      expect(await store.size('cut')).to.equal(4);
      await writer.append([Buffer.from('+more')]);
      await writer.close();
      expect((await store.read('cut', 0, 9)).toString()).to.equal('kept+more');
    });

    it('streams a multi-MB resource byte-exact', async () => {
      const writer = await store.openWriter('big');
      const source = createHash('sha256');
      for (let i = 0; i < 40; i++) {
        const chunk = Buffer.alloc(100_003, i);
        source.update(chunk);
        await writer.append([chunk]);
      }
      await writer.close();
      const read = createHash('sha256');
      for await (const part of store.createReadStream('big', 0, 40 * 100_003) as AsyncIterable<Buffer>) read.update(part);
      expect(read.digest('hex')).to.equal(source.digest('hex'));
    });

    it('reads bytes appended after an earlier read, and many reads at once', async () => {
      const writer = await store.openWriter('grow');
      await writer.append([Buffer.from('first\n')]);
      expect((await store.read('grow', 0, 6)).toString()).to.equal('first\n');
      await writer.append([Buffer.from('second\n')]);
      const reads = await Promise.all([0, 1, 2, 3, 4, 5, 6].map((at) => store.read('grow', at, 13)));
      expect(reads.map(String)).to.deep.equal([0, 1, 2, 3, 4, 5, 6].map((at) => 'first\nsecond\n'.slice(at)));
      await writer.close();
    });

    it('reads the new bytes of a resource deleted and written again', async () => {
      const w1 = await store.openWriter('again');
      await w1.append([Buffer.from('old bytes')]);
      await w1.close();
      expect((await store.read('again', 0, 9)).toString()).to.equal('old bytes');
      await store.delete('again');
      const w2 = await store.openWriter('again');
      await w2.append([Buffer.from('new')]);
      await w2.close();
      expect((await store.read('again', 0, 3)).toString()).to.equal('new');
    });

    it('fails a read past the stored bytes with STORAGE_FAILURE', async () => {
      const writer = await store.openWriter('short');
      await writer.append([Buffer.from('abc')]);
      await writer.close();
      const err = (await store.read('short', 0, 10).catch((e: unknown) => e)) as SpoolError;
      expect(err.code).to.equal(ErrorCode.STORAGE_FAILURE);
    });

    it('still serves reads after close', async () => {
      const writer = await store.openWriter('closed');
      await writer.append([Buffer.from('kept')]);
      await writer.close();
      expect((await store.read('closed', 0, 4)).toString()).to.equal('kept');
      await store.close();
      expect((await store.read('closed', 1, 4)).toString()).to.equal('ept');
    });

    it('truncates and deletes', async () => {
      const writer = await store.openWriter('t');
      await writer.append([Buffer.from('0123456789')]);
      await writer.close();
      await store.truncate('t', 4);
      expect(await store.size('t')).to.equal(4);
      await store.delete('t');
      expect(await store.size('t')).to.equal(0);
    });
  });
}

/**
 * What a store shared by nodes adds (`WriterOptions.fence`): a writer that took a
 * resource over with a newer lease starts at the visible size, and nothing the older
 * writer appends afterwards is ever read; the older one cannot open a writer again.
 */
export function fencedByteStoreContract(name: string, open: () => Promise<ByteStore>): void {
  describe(`ByteStore fencing contract: ${name}`, () => {
    let store: ByteStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('keeps a stale writer’s later appends out of what readers see', async () => {
      const stale = await store.openWriter('f1', { fence: 1 });
      await stale.append([Buffer.from('visible|unacked')]);
      // The lease moved at visible size 8: the new writer starts there.
      const current = await store.openWriter('f1', { fence: 2, at: 8 });
      expect(current.size).to.equal(8);
      await current.append([Buffer.from('NEW')]);
      const late = await stale.append([Buffer.from('stale bytes')]).then(
        () => 'appended',
        (err: SpoolError) => err.code,
      );
      expect(['appended', ErrorCode.WRITER_CONFLICT]).to.include(late);
      await current.append([Buffer.from('+more')]);
      expect(await store.size('f1')).to.equal(16);
      expect((await store.read('f1', 0, 16)).toString()).to.equal('visible|NEW+more');
      expect((await collect(store.createReadStream('f1', 5, 16))).toString()).to.equal('le|NEW+more');
      await Promise.all([stale.close(), current.close()]);
    });

    it('refuses a writer whose lease is older than one already seen', async () => {
      await (await store.openWriter('f2', { fence: 5 })).close();
      const err = (await store.openWriter('f2', { fence: 4 }).catch((e: unknown) => e)) as SpoolError;
      expect(err.code).to.equal(ErrorCode.WRITER_CONFLICT);
    });

    it('lets a writer resumed on the same lease go on where it stopped, cutting what was never visible', async () => {
      const first = await store.openWriter('f3', { fence: 3 });
      await first.append([Buffer.from('0123456789')]);
      await first.close();
      const again = await store.openWriter('f3', { fence: 3, at: 6 });
      await again.append([Buffer.from('ab')]);
      await again.close();
      expect(await store.size('f3')).to.equal(8);
      expect((await store.read('f3', 0, 8)).toString()).to.equal('012345ab');
      const taken = await store.openWriter('f3', { fence: 4, at: 8 });
      await taken.append([Buffer.from('!')]);
      await taken.close();
      expect((await store.read('f3', 0, 9)).toString()).to.equal('012345ab!');
    });
  });
}
