import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { appendFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, type ResourceStatus, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import winston from 'winston';
import { SqliteCatalog } from './catalog/sqlite-catalog.js';
import { MemoryEventBus } from './events/memory-event-bus.js';
import { SpoolCore, type SpoolCoreOptions } from './spool-core.js';
import type { ByteStore, ByteWriter } from './storage/byte-store.js';
import { FileByteStore } from './storage/file-byte-store.js';
import { LINE_INDEX_STRIDE } from './types.js';
import type { UploadSession } from './upload-session.js';

const logger = winston.createLogger({ silent: true });
const OPTIONS: SpoolCoreOptions = {
  checkpointIntervalMs: 10,
  maxActiveUploads: 0,
  maxResourceBytes: 0,
  highWaterMarkBytes: 1024 * 1024,
  syncOnCheckpoint: false,
  maxLinesReplyBytes: 1024 * 1024,
  resumeGraceMs: 60_000,
  retentionMs: 0,
  sweepIntervalMs: 60_000,
};

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function openCore(dir?: string, options: Partial<SpoolCoreOptions> = {}, store?: ByteStore) {
  const dataDir = dir ?? mkdtempSync(path.join(tmpdir(), 'spool-core-'));
  if (!dir) dirs.push(dataDir);
  const core = new SpoolCore(
    {
      catalog: new SqliteCatalog(path.join(dataDir, 'catalog.sqlite')),
      store: store ?? new FileByteStore(dataDir),
      bus: new MemoryEventBus(),
      logger,
    },
    { ...OPTIONS, ...options },
  );
  await core.start();
  return { core, dataDir };
}

async function readAll(core: SpoolCore, id: string, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of (await core.openRange(id, start, end)) as AsyncIterable<Buffer>) parts.push(p);
  return Buffer.concat(parts);
}

/** Checkpoints until everything written so far is visible (checkpoints take what reached the disk). */
async function settle(session: UploadSession): Promise<void> {
  for (let i = 0; i < 1000 && session.status.size < session.receivedBytes; i++) {
    await session.checkpoint();
    await new Promise((r) => setTimeout(r, 1));
  }
}

const textMeta = { filename: 'build.log', mimeType: 'text/plain', supportsLineAccess: true };

describe('SpoolCore', () => {
  it('makes written bytes visible at checkpoints and completes with MD5 and line count', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta);
    const seen: ResourceStatus[] = [];
    await core.subscribe(session.id, (s) => seen.push(s));
    expect(seen[0]).to.include({ state: 'INITIATED', size: 0, lines: 0 });
    session.write(Buffer.from('line one\nline two\npart'));
    await settle(session);
    expect(await core.getStatus(session.id)).to.include({ state: 'IN_PROGRESS', size: 22, lines: 2 });
    session.write(Buffer.from('ial'));
    const final = await session.finish(createHash('md5').update('line one\nline two\npartial').digest('hex'));
    expect(final).to.include({ state: 'COMPLETED', size: 25, lines: 3 });
    // A timer checkpoint may add IN_PROGRESS statuses; the order itself is the promise.
    expect([...new Set(seen.map((s) => s.state))]).to.deep.equal(['INITIATED', 'IN_PROGRESS', 'COMPLETED']);
    expect((await readAll(core, session.id, 0, 25)).toString()).to.equal('line one\nline two\npartial');
    await core.close();
  });

  it('serves visible tail bytes from memory, shared by every caller, also while the terminal status is published', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta);
    session.write(Buffer.from('visible\n'));
    await settle(session);
    session.write(Buffer.from('not yet'));
    const first = core.recentBytes(session.id, 2, 8);
    expect(Buffer.concat(first ?? []).toString()).to.equal('sible\n');
    expect(core.recentBytes(session.id, 2, 8), 'the same range is one shared copy').to.equal(first);
    expect(core.recentBytes(session.id, 0, 9), 'past the visible size').to.equal(undefined);
    expect(core.recentBytes('unknown', 0, 0)).to.equal(undefined);
    const atEnd: (readonly Buffer[] | undefined)[] = [];
    await core.subscribe(session.id, (status) => {
      if (status.state === 'COMPLETED') atEnd.push(core.recentBytes(session.id, 8, status.size));
    });
    await session.finish();
    expect(atEnd.map((bytes) => Buffer.concat(bytes ?? []).toString())).to.deep.equal(['not yet']);
    expect(core.recentBytes(session.id, 8, 15), 'once published, read the store').to.equal(undefined);
    expect((await readAll(core, session.id, 8, 15)).toString()).to.equal('not yet');
    await core.close();
  });

  it('never shows a size going backwards and always ends with the terminal status', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta);
    const seen: ResourceStatus[] = [];
    await core.subscribe(session.id, (s) => seen.push(s));
    for (let i = 0; i < 50; i++) {
      session.write(Buffer.alloc(1000, 'x'));
      if (i % 7 === 0) await session.checkpoint();
    }
    await session.finish();
    for (let i = 1; i < seen.length; i++) expect((seen[i] as ResourceStatus).size).to.be.at.least((seen[i - 1] as ResourceStatus).size);
    expect(seen[seen.length - 1]).to.include({ state: 'COMPLETED', size: 50_000 });
    await core.close();
  });

  it('serves any line page from the sparse index, across chunk and block boundaries', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta);
    const lines: string[] = [];
    for (let i = 0; i < LINE_INDEX_STRIDE * 5 + 17; i++) lines.push(`${i}:${'é'.repeat(i % 13)}\n`);
    const all = Buffer.from(`${lines.join('')}tail-without-newline`);
    // Odd chunk sizes split lines and multi-byte characters.
    for (let at = 0; at < all.length; at += 997) session.write(all.subarray(at, at + 997));
    await settle(session);
    const page = async (start: number, count: number) => (await core.readLines(session.id, start, count)).map((b) => b.toString('utf8'));
    expect(await page(0, 3)).to.deep.equal(lines.slice(0, 3));
    expect(await page(LINE_INDEX_STRIDE - 1, 3)).to.deep.equal(lines.slice(LINE_INDEX_STRIDE - 1, LINE_INDEX_STRIDE + 2));
    expect(await page(LINE_INDEX_STRIDE * 3 + 5, 400)).to.deep.equal(lines.slice(LINE_INDEX_STRIDE * 3 + 5, LINE_INDEX_STRIDE * 3 + 405));
    // While in progress the unterminated tail is not a line yet.
    const err = (await core.readLines(session.id, lines.length, 1).catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.LINES_OUT_OF_RANGE);
    await session.finish();
    expect(await page(lines.length - 1, 2)).to.deep.equal([lines[lines.length - 1], 'tail-without-newline']);
    await core.close();
  });

  it('scans long lines in steps, and refuses a page over maxLinesReplyBytes', async () => {
    const { core } = await openCore(undefined, { maxLinesReplyBytes: 64 * 1024 });
    const session = await core.createUpload(textMeta);
    // 20 KB lines: one index block spans 5 MB, more than is read at once.
    const lines = Array.from({ length: LINE_INDEX_STRIDE + 40 }, (_, i) => `${i}:${String.fromCharCode(97 + (i % 26)).repeat(20_000)}\n`);
    for (const line of lines) session.write(Buffer.from(line));
    await session.finish();
    const page = async (start: number, count: number) => (await core.readLines(session.id, start, count)).map((b) => b.toString('utf8'));
    expect(await page(200, 3)).to.deep.equal(lines.slice(200, 203));
    expect(await page(LINE_INDEX_STRIDE - 1, 2)).to.deep.equal(lines.slice(LINE_INDEX_STRIDE - 1, LINE_INDEX_STRIDE + 1));
    expect(await page(lines.length - 1, 1)).to.deep.equal(lines.slice(-1));
    const err = (await core.readLines(session.id, 10, 4).catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.MESSAGE_TOO_LARGE);
    await core.close();
  });

  it('rejects bad ranges and line requests with stable codes', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta);
    session.write(Buffer.from('abc\n'));
    await settle(session);
    for (const [start, end] of [
      [-1, 2],
      [3, 2],
      [0, 5],
      [0.5, 2],
    ] as const) {
      const err = (await core.openRange(session.id, start, end).catch((e: unknown) => e)) as SpoolError;
      expect(err.code, `${start}-${end}`).to.equal(ErrorCode.INVALID_RANGE);
    }
    const lineErr = (await core.readLines(session.id, -1, 1).catch((e: unknown) => e)) as SpoolError;
    expect(lineErr.code).to.equal(ErrorCode.LINES_OUT_OF_RANGE);
    const unknown = (await core.openRange('no-such-id', 0, 0).catch((e: unknown) => e)) as SpoolError;
    expect(unknown.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    const binary = await core.createUpload({ filename: 'b.bin', mimeType: 'application/octet-stream', supportsLineAccess: false });
    const noLines = (await core.readLines(binary.id, 0, 1).catch((e: unknown) => e)) as SpoolError;
    expect(noLines.code).to.equal(ErrorCode.LINE_ACCESS_UNSUPPORTED);
    await core.close();
  });

  it('refuses invalid metadata', async () => {
    const { core } = await openCore();
    for (const bad of [
      { filename: '', mimeType: 'text/plain', supportsLineAccess: true },
      { filename: 'a', mimeType: 'text', supportsLineAccess: true },
      { filename: 'a', mimeType: 'text/plain; charset=utf-8', supportsLineAccess: true },
      { filename: 'a', mimeType: 'text/plain' },
    ]) {
      const err = (await core.createUpload(bad).catch((e: unknown) => e)) as SpoolError;
      expect(err.code, JSON.stringify(bad)).to.equal(ErrorCode.INVALID_METADATA);
    }
    await core.close();
  });

  it('fails the resource on a checksum mismatch, keeping its bytes', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta);
    session.write(Buffer.from('data'));
    const err = (await session.finish('0'.repeat(32)).catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.CHECKSUM_MISMATCH);
    expect(await core.getStatus(session.id)).to.include({ state: 'FAILED', size: 4 });
    expect((await readAll(core, session.id, 0, 4)).toString()).to.equal('data');
    await core.close();
  });

  it('completes without a checksum when asked not to hash; an MD5 to verify is then refused, the upload still open', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta, { checksum: false });
    session.write(Buffer.from('a\nb'));
    const err = (await session.finish('0'.repeat(32)).catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.INVALID_MESSAGE);
    expect(session.isOpen).to.equal(true);
    const status = await session.finish();
    expect(status).to.include({ state: 'COMPLETED', size: 3, lines: 2, checksum: undefined });
    expect((await core.getRecord(session.id)).checksum).to.equal(null);
    await core.close();
  });

  it('refuses bytes past the size limit without taking them', async () => {
    const { core } = await openCore(undefined, { maxResourceBytes: 10 });
    const session = await core.createUpload(textMeta);
    session.write(Buffer.from('12345678'));
    expect(() => session.write(Buffer.from('abc')))
      .to.throw()
      .with.property('code', ErrorCode.QUOTA_EXCEEDED);
    const failed = await session.fail('quota');
    expect(failed).to.include({ state: 'FAILED', size: 8 });
    await core.close();
  });

  it('marks a disk write error FAILED and reports it to the writer', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-core-'));
    dirs.push(dir);
    const files = new FileByteStore(dir);
    const failing: ByteStore = {
      ...files,
      size: (id) => files.size(id),
      read: (id, s, e) => files.read(id, s, e),
      createReadStream: (id, s, e) => files.createReadStream(id, s, e),
      truncate: (id, s) => files.truncate(id, s),
      delete: (id) => files.delete(id),
      close: () => files.close(),
      openWriter: async (id) => {
        const real = await files.openWriter(id);
        let appended = 0;
        const writer: ByteWriter = {
          get size() {
            return real.size;
          },
          append: async (chunks) => {
            if (appended > 0) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
            appended++;
            await real.append(chunks);
          },
          sync: () => real.sync(),
          close: () => real.close(),
        };
        return writer;
      },
    };
    const { core } = await openCore(dir, {}, failing);
    const session = await core.createUpload(textMeta);
    const errors: SpoolError[] = [];
    session.on('error', (e: SpoolError) => errors.push(e));
    session.write(Buffer.from('first\n'));
    await settle(session);
    session.write(Buffer.from('second\n'));
    await new Promise((r) => setTimeout(r, 50));
    expect(errors[0]?.code).to.equal(ErrorCode.STORAGE_FAILURE);
    expect(await core.getStatus(session.id)).to.include({ state: 'FAILED', size: 6 });
    // Other uploads are unaffected by one resource's failure... and the core keeps serving.
    expect((await readAll(core, session.id, 0, 6)).toString()).to.equal('first\n');
    await core.close();
  });

  it('on restart marks interrupted uploads FAILED with the data of their last checkpoint', async () => {
    const { core, dataDir } = await openCore();
    const done = await core.createUpload(textMeta);
    done.write(Buffer.from('complete\n'));
    await done.finish();
    const interrupted = await core.createUpload(textMeta);
    interrupted.write(Buffer.from('a\nb\nc'));
    await settle(interrupted);
    // Bytes the OS got after the last checkpoint: never visible, so cut on recovery.
    await appendFile(path.join(dataDir, 'blobs', interrupted.id), 'never-visible');
    await core.deps.catalog.close(); // the "crash": no final checkpoint
    const { core: restarted } = await openCore(dataDir);
    expect(await restarted.getStatus(done.id)).to.include({ state: 'COMPLETED', size: 9, lines: 1 });
    expect(await restarted.getStatus(interrupted.id)).to.include({ state: 'FAILED', size: 5, lines: 3 });
    expect((await stat(path.join(dataDir, 'blobs', interrupted.id))).size).to.equal(5);
    expect((await readAll(restarted, interrupted.id, 0, 5)).toString()).to.equal('a\nb\nc');
    expect((await restarted.readLines(interrupted.id, 2, 1)).map(String)).to.deep.equal(['c']);
    await restarted.close();
  });

  it('replays the current status to a subscriber and refuses unknown ids', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta);
    session.write(Buffer.from('xyz'));
    await session.finish();
    const seen: ResourceStatus[] = [];
    await core.subscribe(session.id, (s) => seen.push(s));
    expect(seen).to.have.length(1);
    expect(seen[0]).to.include({ state: 'COMPLETED', size: 3, lines: 1 });
    const err = (await core.subscribe('unknown', () => undefined).catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    await core.close();
  });
});

describe('SpoolCore resume (one writer, explicit offsets)', () => {
  it('releases a writer, refuses a second one and a wrong offset, then appends at the right offset', async () => {
    const { core } = await openCore();
    const first = await core.createUpload(textMeta);
    first.write(Buffer.from('one\n'));
    expect(await first.release()).to.include({ state: 'IN_PROGRESS', size: 4 });
    const wrong = (await core.resumeUpload(first.id, 3).catch((e: unknown) => e)) as SpoolError;
    expect(wrong.code).to.equal(ErrorCode.OFFSET_MISMATCH);
    const [a, b] = await Promise.allSettled([core.resumeUpload(first.id, 4), core.resumeUpload(first.id, 4)]);
    expect([a.status, b.status].sort()).to.deep.equal(['fulfilled', 'rejected']);
    const loser = (a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason) as SpoolError;
    expect(loser.code).to.equal(ErrorCode.WRITER_CONFLICT);
    const second = (a.status === 'fulfilled' ? a.value : (b as PromiseFulfilledResult<UploadSession>).value) as UploadSession;
    second.write(Buffer.from('two'));
    const done = await second.finish(createHash('md5').update('one\ntwo').digest('hex'));
    expect(done).to.include({ state: 'COMPLETED', size: 7, lines: 2 });
    const terminal = (await core.resumeUpload(first.id).catch((e: unknown) => e)) as SpoolError;
    expect(terminal.code).to.equal(ErrorCode.RESOURCE_TERMINAL);
    await core.close();
  });
});

describe('SpoolCore resume: checksum choice', () => {
  const md5 = (text: string) => createHash('md5').update(text).digest('hex');

  it('hashes a resume at offset 0 as the bytes arrive, re-reads a later one at finish, and skips both on request', async () => {
    const { core } = await openCore();
    const fromZero = await core.createUpload(textMeta, { resumable: true, checksum: false });
    await fromZero.release();
    const resumedAtZero = await core.resumeUpload(fromZero.id, 0);
    resumedAtZero.write(Buffer.from('all\n'));
    expect(await resumedAtZero.finish(md5('all\n'))).to.include({ state: 'COMPLETED', checksum: md5('all\n') });

    const later = await core.createUpload(textMeta, { resumable: true, checksum: false });
    later.write(Buffer.from('one\n'));
    await later.release();
    const resumedLater = await core.resumeUpload(later.id, 4);
    resumedLater.write(Buffer.from('two\n'));
    expect(await resumedLater.finish()).to.include({ state: 'COMPLETED', checksum: md5('one\ntwo\n') });

    for (const offset of [0, 4]) {
      const skipped = await core.createUpload(textMeta, { resumable: true, checksum: false });
      if (offset > 0) skipped.write(Buffer.from('one\n'));
      await skipped.release();
      const resumed = await core.resumeUpload(skipped.id, offset, { checksum: false });
      resumed.write(Buffer.from('two\n'));
      const done = await resumed.finish();
      expect(done.state, `offset ${offset}`).to.equal('COMPLETED');
      expect(done.checksum, `offset ${offset}`).to.equal(undefined);
      expect((await core.getRecord(skipped.id)).checksum).to.equal(null);
    }
    await core.close();
  });
});

describe('SpoolCore lifecycle: resume grace, retention, delete, contexts', () => {
  it('keeps an interrupted resumable upload IN_PROGRESS across a restart, then fails it after the grace period', async () => {
    const { core, dataDir } = await openCore();
    const resumable = await core.createUpload(textMeta, { resumable: true });
    resumable.write(Buffer.from('kept\n'));
    await settle(resumable);
    const plain = await core.createUpload(textMeta);
    plain.write(Buffer.from('x'));
    await settle(plain);
    await core.deps.catalog.close(); // crash
    const { core: restarted } = await openCore(dataDir, { resumeGraceMs: 60_000 });
    expect(await restarted.getStatus(resumable.id)).to.include({ state: 'IN_PROGRESS', size: 5 });
    expect(await restarted.getStatus(plain.id)).to.include({ state: 'FAILED', size: 1 });
    const resumed = await restarted.resumeUpload(resumable.id, 5);
    resumed.write(Buffer.from('more\n'));
    await resumed.release();
    await restarted.sweep(Date.now() + 1000); // within the grace period: nothing happens
    expect(await restarted.getStatus(resumable.id)).to.include({ state: 'IN_PROGRESS', size: 10 });
    const seen: ResourceStatus[] = [];
    await restarted.subscribe(resumable.id, (s) => seen.push(s));
    await restarted.sweep(Date.now() + 120_000);
    expect(await restarted.getStatus(resumable.id)).to.include({ state: 'FAILED', size: 10, lines: 2 });
    expect(seen[seen.length - 1]).to.include({ state: 'FAILED' });
    await restarted.close();
  });

  it('deletes terminal resources past the retention age, and never open ones', async () => {
    const { core } = await openCore(undefined, { retentionMs: 10_000 });
    const done = await core.createUpload(textMeta);
    await done.finish();
    const open = await core.createUpload(textMeta);
    await core.sweep(Date.now() + 5_000);
    expect(await core.getStatus(done.id)).to.include({ state: 'COMPLETED' });
    await core.sweep(Date.now() + 20_000);
    const gone = (await core.getStatus(done.id).catch((e: unknown) => e)) as SpoolError;
    expect(gone.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    expect(await core.getStatus(open.id)).to.include({ state: 'INITIATED' });
    await core.close();
  });

  it('deletes a resource being written: followers see FAILED, then it is gone', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta);
    session.write(Buffer.from('doomed'));
    const seen: ResourceStatus[] = [];
    await core.subscribe(session.id, (s) => seen.push(s));
    await core.delete(session.id);
    expect(seen[seen.length - 1]).to.include({ state: 'FAILED', error: 'Resource deleted' });
    const err = (await core.openRange(session.id, 0, 0).catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    const again = (await core.delete(session.id).catch((e: unknown) => e)) as SpoolError;
    expect(again.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    await core.close();
  });

  it('streams the status of every resource of an upload context, existing and new', async () => {
    const { core } = await openCore();
    const before = await core.createUpload(textMeta, { contextId: 'build-7' });
    await core.createUpload(textMeta, { contextId: 'other' });
    const seen: ResourceStatus[] = [];
    const off = await core.subscribeContext('build-7', (s) => seen.push(s));
    expect(seen.map((s) => s.id)).to.deep.equal([before.id]);
    const later = await core.createUpload(textMeta, { contextId: 'build-7' });
    later.write(Buffer.from('a\n'));
    await later.finish();
    expect(seen.filter((s) => s.id === later.id).map((s) => s.state)).to.include.members(['INITIATED', 'COMPLETED']);
    off();
    await before.finish();
    expect(seen.filter((s) => s.id === before.id).map((s) => s.state)).to.deep.equal(['INITIATED']);
    await core.close();
  });
});
