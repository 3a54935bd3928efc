import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Crc32, ErrorCode, type ResourceStatus, type SpoolError, TimeoutError, TransferState } from '@spool/common';
import { expect } from 'chai';
import winston from 'winston';
import type { Catalog } from './catalog/catalog.js';
import { SqliteCatalog } from './catalog/sqlite-catalog.js';
import { MemoryEventBus } from './events/memory-event-bus.js';
import { SpoolCore, type SpoolCoreOptions, statusOf } from './spool-core.js';
import type { ByteStore, ByteWriter } from './storage/byte-store.js';
import { FileByteStore } from './storage/file-byte-store.js';
import { TEST_CORE_OPTIONS } from './testing/core-options.js';
import { FullDisk } from './testing/full-disk.js';
import { freshTempDir } from './testing/temp-dirs.js';
import { LINE_INDEX_STRIDE, type ResourceRecord } from './types.js';
import type { UploadSession } from './upload-session.js';

const logger = winston.createLogger({ silent: true });
const OPTIONS = TEST_CORE_OPTIONS;

/** The catalog and store of a data directory. */
interface Storage {
  catalog: Catalog;
  store: ByteStore;
}

/** A core over a (fresh) data directory; `wrap` may put its real storage behind a failing disk or a slow store. */
async function openCore(
  dir?: string,
  options: Partial<SpoolCoreOptions> = {},
  extra: { wrap?: (real: Storage) => Storage; logger?: winston.Logger } = {},
) {
  const dataDir = dir ?? freshTempDir('core');
  const real = { catalog: new SqliteCatalog(path.join(dataDir, 'catalog.sqlite')), store: new FileByteStore(dataDir) };
  const { catalog, store } = extra.wrap?.(real) ?? real;
  const core = new SpoolCore({ catalog, store, bus: new MemoryEventBus(), logger: extra.logger ?? logger }, { ...OPTIONS, ...options });
  await core.start();
  return { core, dataDir, real };
}

/** The SpoolError `run` throws (synchronously). */
function thrownBy(run: () => unknown): SpoolError | undefined {
  try {
    run();
  } catch (err) {
    return err as SpoolError;
  }
  return undefined;
}

/** Polls `done` every few milliseconds (bounded). */
async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(done(), 'condition reached').to.equal(true);
}

/** `store`, whose writers open only once `gate()` (when set) resolves: a resume held in the middle. */
function gatedWriters(store: ByteStore, gate: () => Promise<void> | undefined): ByteStore {
  const gated = Object.create(store) as ByteStore;
  gated.openWriter = async (id) => {
    await gate();
    return store.openWriter(id);
  };
  return gated;
}

/** A logger that keeps what is logged at error level. */
function errorRecordingLogger(): { logger: winston.Logger; errors: string[] } {
  const errors: string[] = [];
  const recorder = winston.createLogger({ level: 'debug', transports: [new winston.transports.Console({ silent: true })] });
  recorder.on('data', (entry: { level: string }) => {
    if (entry.level === 'error') errors.push(JSON.stringify(entry));
  });
  return { logger: recorder, errors };
}

async function readAll(core: SpoolCore, id: string, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of (await core.openRange(id, start, end)) as AsyncIterable<Buffer>) parts.push(p);
  return Buffer.concat(parts);
}

/** Checkpoints until everything written so far is recorded, so visible too (checkpoints take what reached the disk). */
async function settle(session: UploadSession): Promise<void> {
  for (let i = 0; i < 1000 && session.durableSize < session.receivedBytes; i++) {
    await session.checkpoint();
    await new Promise((r) => setTimeout(r, 1));
  }
}

const textMeta = { filename: 'build.log', mimeType: 'text/plain', supportsLineAccess: true };

/** `files`, whose writers append through `append` (to make the disk stall). */
function appendingThrough(files: ByteStore, append: (real: ByteWriter, chunks: readonly Buffer[]) => Promise<void>): ByteStore {
  return {
    size: (id) => files.size(id),
    read: (id, start, end) => files.read(id, start, end),
    createReadStream: (id, start, end) => files.createReadStream(id, start, end),
    truncate: (id, size) => files.truncate(id, size),
    delete: (id) => files.delete(id),
    close: () => files.close(),
    openWriter: async (id) => {
      const real = await files.openWriter(id);
      return {
        get size() {
          return real.size;
        },
        append: (chunks) => append(real, chunks),
        sync: () => real.sync(),
        truncate: (size) => real.truncate(size),
        close: () => real.close(),
      };
    },
  };
}

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

  it('resolves a name wherever an id is taken, one live holder at a time', async () => {
    const { core } = await openCore();
    const first = await core.createUpload(textMeta, { name: 'ci/7/build.log' });
    expect((await core.resolve('ci/7/build.log')).id).to.equal(first.id);
    expect((await core.resolve(first.id)).name).to.equal('ci/7/build.log');
    expect(await core.createUpload(textMeta, { name: 'ci/7/build.log' }).catch((err: SpoolError) => err.code)).to.equal(
      ErrorCode.NAME_TAKEN,
    );
    expect(await core.createUpload(textMeta, { name: 'ci//x' }).catch((err: SpoolError) => err.code)).to.equal(ErrorCode.INVALID_METADATA);
    await first.finish();
    const rerun = await core.createUpload(textMeta, { name: 'ci/7/build.log' });
    expect((await core.resolve('ci/7/build.log')).id).to.equal(rerun.id);
    expect(await core.resolve('ci/8/build.log').catch((err: SpoolError) => err.code)).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    await rerun.release();
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

  it('tells the byte offsets of a line page (where tail -n N starts), also of an empty page at the end', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta);
    const lines = Array.from({ length: LINE_INDEX_STRIDE * 2 + 9 }, (_, i) => `${i}:${'é'.repeat(i % 7)}\n`);
    const all = Buffer.from(`${lines.join('')}partial`);
    for (let at = 0; at < all.length; at += 1013) session.write(all.subarray(at, at + 1013));
    await settle(session);
    const offsetOf = (line: number) => Buffer.byteLength(lines.slice(0, line).join(''));
    for (const [start, count] of [
      [0, 2],
      [LINE_INDEX_STRIDE - 1, 3],
      [LINE_INDEX_STRIDE * 2, 9],
      [lines.length, 0],
      [LINE_INDEX_STRIDE, 0],
    ] as const) {
      const page = await core.readLinePage(session.id, start, count);
      expect([page.startOffset, page.endOffset], `${start}+${count}`).to.deep.equal([offsetOf(start), offsetOf(start + count)]);
      expect(page.lines.map(String)).to.deep.equal(lines.slice(start, start + count));
    }
    await session.finish();
    // Terminal: the unterminated last line is a line, ending at the size; past it, the size.
    const last = await core.readLinePage(session.id, lines.length, 1);
    expect([last.startOffset, last.endOffset, last.lines.map(String)]).to.deep.equal([offsetOf(lines.length), all.length, ['partial']]);
    const end = await core.readLinePage(session.id, lines.length + 1, 0);
    expect([end.startOffset, end.endOffset]).to.deep.equal([all.length, all.length]);
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
      const readErr = (await core.read(session.id, start, end).catch((e: unknown) => e)) as SpoolError;
      expect(readErr.code, `read ${start}-${end}`).to.equal(ErrorCode.INVALID_RANGE);
    }
    // read: the same bytes as openRange, in one buffer (from the upload's recent bytes while open, else the file).
    expect((await core.read(session.id, 1, 4)).toString()).to.equal('bc\n');
    await session.finish();
    expect((await core.read(session.id, 0, 4)).toString()).to.equal('abc\n');
    expect(await core.read(session.id, 2, 2)).to.have.length(0);
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

  it('completes without a checksum when asked not to hash', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta, { checksum: false });
    session.write(Buffer.from('a\nb'));
    const status = await session.finish();
    expect(status).to.include({ state: 'COMPLETED', size: 3, lines: 2, checksum: undefined });
    const record = await core.getRecord(session.id);
    expect(record.checksum).to.equal(null);
    expect(record.checksums).to.deep.equal({});
    await core.close();
  });

  it('computes the chosen checksums (CRC-32 inline, MD5 and SHA-256 off-thread) and records them all', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta, { checksum: ['crc32', 'sha256'] });
    session.write(Buffer.from('1234'));
    session.write(Buffer.from('56789'));
    const sha256 = createHash('sha256').update('123456789').digest('hex');
    const status = await session.finish({ crc32: 'CBF43926' });
    expect(status.checksums).to.deep.equal({ crc32: 'cbf43926', sha256 });
    expect(status.checksum).to.equal(undefined);
    const record = await core.getRecord(session.id);
    expect(record).to.include({ checksum: null, state: 'COMPLETED' });
    expect(record.checksums).to.deep.equal({ crc32: 'cbf43926', sha256 });
    expect(statusOf(record).checksums).to.deep.equal({ crc32: 'cbf43926', sha256 });
    await core.close();
  });

  it('fails the resource on a CRC-32 mismatch: nothing is COMPLETED', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta, { checksum: ['crc32'] });
    session.write(Buffer.from('123456789'));
    const err = (await session.finish({ crc32: '00000000' }).catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.CHECKSUM_MISMATCH);
    expect(err.message).to.include('crc32:00000000').and.include('crc32:cbf43926');
    expect(await core.getRecord(session.id)).to.include({ state: 'FAILED', checksum: null });
    await core.close();
  });

  it('verifies an MD5 the upload did not compute from the stored bytes, and keeps it', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta, { checksum: ['crc32'] });
    session.write(Buffer.from('a\nb'));
    const md5 = createHash('md5').update('a\nb').digest('hex');
    const status = await session.finish(md5);
    expect(status).to.include({ state: 'COMPLETED', checksum: md5 });
    expect(status.checksums).to.deep.equal({ crc32: new Crc32().update(Buffer.from('a\nb')).hex(), md5 });
    const other = await core.createUpload(textMeta, { checksum: false });
    other.write(Buffer.from('x'));
    const err = (await other.finish('0'.repeat(32)).catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.CHECKSUM_MISMATCH);
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
    const { core } = await openCore(undefined, {}, { wrap: (real) => new FullDisk(real.store, real.catalog, 10) });
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

  it('on restart marks interrupted uploads FAILED keeping every byte the file holds, lines recounted past the checkpoint', async () => {
    const { core, dataDir } = await openCore();
    const done = await core.createUpload(textMeta);
    done.write(Buffer.from('complete\n'));
    await done.finish();
    const interrupted = await core.createUpload(textMeta);
    interrupted.write(Buffer.from('a\nb\nc'));
    await settle(interrupted);
    // Bytes the OS got after the last checkpoint: visible on write, so kept on recovery.
    await appendFile(path.join(dataDir, 'blobs', interrupted.id), 'd\ne\nf');
    await core.deps.catalog.close(); // the "crash": no final checkpoint
    const { core: restarted } = await openCore(dataDir);
    expect(await restarted.getStatus(done.id)).to.include({ state: 'COMPLETED', size: 9, lines: 1 });
    expect(await restarted.getStatus(interrupted.id)).to.include({ state: 'FAILED', size: 10, lines: 5 });
    expect((await stat(path.join(dataDir, 'blobs', interrupted.id))).size).to.equal(10);
    expect((await readAll(restarted, interrupted.id, 0, 10)).toString()).to.equal('a\nb\ncd\ne\nf');
    expect((await restarted.readLines(interrupted.id, 2, 3)).map(String)).to.deep.equal(['cd\n', 'e\n', 'f']);
    await restarted.close();
  });

  it('visible at checkpoints (a shared bus), cuts on restart what the last checkpoint did not record', async () => {
    const { core, dataDir } = await openCore(undefined, { visibleOnWrite: false });
    const interrupted = await core.createUpload(textMeta);
    interrupted.write(Buffer.from('a\nb\nc'));
    await settle(interrupted);
    await appendFile(path.join(dataDir, 'blobs', interrupted.id), 'never-visible');
    await core.deps.catalog.close();
    const { core: restarted } = await openCore(dataDir, { visibleOnWrite: false });
    expect(await restarted.getStatus(interrupted.id)).to.include({ state: 'FAILED', size: 5, lines: 3 });
    expect((await stat(path.join(dataDir, 'blobs', interrupted.id))).size).to.equal(5);
    await restarted.close();
  });

  it('shows bytes once written, before any checkpoint; a restart never shows less than a reader saw', async () => {
    // No timer checkpoint during the test: only writes make bytes visible.
    const { core, dataDir } = await openCore(undefined, { checkpointIntervalMs: 3_600_000 });
    const session = await core.createUpload(textMeta, { resumable: true });
    const seen: ResourceStatus[] = [];
    await core.subscribe(session.id, (s) => seen.push(s));
    const lineCount = LINE_INDEX_STRIDE * 2 + 10;
    const text = Array.from({ length: lineCount }, (_, i) => `line ${i}\n`).join('');
    session.write(Buffer.from(text));
    await waitFor(() => (seen.at(-1)?.size ?? 0) === text.length);
    expect(session.durableSize, 'nothing recorded yet').to.equal(0);
    expect(seen.at(-1)).to.include({ state: 'IN_PROGRESS', size: text.length, lines: lineCount });
    expect((await readAll(core, session.id, 0, text.length)).toString()).to.equal(text);
    // Lines past index entries the catalog does not have yet: the upload's pending ones.
    const block2 = LINE_INDEX_STRIDE * 2 + 3;
    expect((await core.readLines(session.id, block2, 2)).map(String)).to.deep.equal([`line ${block2}\n`, `line ${block2 + 1}\n`]);
    const durable: number[] = [];
    session.on('durable', (size: number) => durable.push(size));
    session.write(Buffer.from('tail\n'));
    await waitFor(() => (seen.at(-1)?.size ?? 0) === text.length + 5);
    await session.checkpoint();
    expect(durable).to.deep.equal([text.length + 5]);
    session.write(Buffer.from('after the checkpoint\n'));
    await waitFor(() => (seen.at(-1)?.size ?? 0) === text.length + 26);
    const last = seen.at(-1) as ResourceStatus;
    await core.deps.catalog.close(); // kill -9: no final checkpoint
    const { core: restarted } = await openCore(dataDir);
    const recovered = await restarted.getStatus(session.id);
    expect(recovered).to.include({ state: 'IN_PROGRESS', size: last.size, lines: last.lines });
    expect((await restarted.readLines(session.id, lineCount, 2)).map(String)).to.deep.equal(['tail\n', 'after the checkpoint\n']);
    expect((await restarted.readLines(session.id, block2, 1)).map(String)).to.deep.equal([`line ${block2}\n`]);
    const resumed = await restarted.resumeUpload(session.id, last.size);
    resumed.write(Buffer.from('resumed\n'));
    expect(await resumed.finish()).to.include({ state: 'COMPLETED', size: last.size + 8, lines: lineCount + 3 });
    await restarted.close();
  });

  it('publishes written batches as they land, never backwards, with fewer statuses than writes', async () => {
    const { core } = await openCore(undefined, { checkpointIntervalMs: 3_600_000 });
    const session = await core.createUpload(textMeta);
    const sizes: number[] = [];
    await core.subscribe(session.id, (s) => sizes.push(s.size));
    for (let i = 0; i < 50; i++) session.write(Buffer.from(`${i}\n`));
    const total = session.receivedBytes;
    await waitFor(() => sizes.at(-1) === total);
    // Never backwards, and fewer statuses than writes (batches were coalesced).
    expect(sizes).to.deep.equal([...sizes].sort((a, b) => a - b));
    expect(sizes.length).to.be.lessThan(50);
    await session.finish();
    await core.close();
  });

  it('while a long fan-out runs, reads the uploader between its slices and shows what arrived in the next one; every follower sees every byte, in order', async () => {
    const { core } = await openCore(undefined, { checkpointIntervalMs: 3_600_000 });
    const session = await core.createUpload(textMeta);
    const followers = 100;
    const sizes: number[][] = Array.from({ length: followers }, () => []);
    /** Writes the uploader had made when the last follower got each status, beyond it. */
    const aheadAtLast: number[] = [];
    for (let i = 0; i < followers; i++) {
      await core.subscribe(session.id, (s) => {
        const until = performance.now() + 0.1; // a socket write's worth: 100 followers take ≈10 ms
        while (performance.now() < until);
        sizes[i]?.push(s.size);
        if (i === followers - 1) aheadAtLast.push(session.receivedBytes - s.size);
      });
    }
    const writes = 40;
    for (let i = 0; i < writes; i++) {
      session.write(Buffer.from(`${String(i).padStart(3, '0')}\n`));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const total = session.receivedBytes;
    const status = await session.finish();
    expect(status).to.include({ state: 'COMPLETED', size: total });
    for (const seen of sizes) {
      // Growing (never backwards, never twice the same size but for the final COMPLETED), ending at every byte.
      for (let k = 1; k < seen.length - 1; k++) expect(seen[k]).to.be.greaterThan(seen[k - 1] as number);
      expect(seen.at(-1)).to.equal(total);
      expect(seen.at(-1)).to.be.at.least(seen.at(-2) as number);
      expect(seen).to.deep.equal(sizes[0]);
    }
    // Coalesced: far fewer statuses than writes; and writes landed during fan-outs (ingest first).
    expect(sizes[0]?.length).to.be.lessThan(writes / 2);
    expect(Math.max(...aheadAtLast)).to.be.greaterThan(0);
    await core.close();
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

describe('SpoolCore.storeWhole (small resources known whole)', () => {
  const blobMeta = { filename: 'b', mimeType: 'application/octet-stream', supportsLineAccess: false };

  it('stores, records COMPLETED and publishes it once, without an upload session; a name unique forever is refused again', async () => {
    const { core } = await openCore();
    const seen: ResourceStatus[] = [];
    await core.subscribeContext('sync-1', (s) => seen.push(s));
    const record = await core.storeWhole(
      blobMeta,
      { name: 'blobs/one', uniqueName: 'always', contextId: 'sync-1' },
      Buffer.from('ciphertext'),
    );
    expect(record).to.include({ state: 'COMPLETED', size: 10, name: 'blobs/one' });
    expect(core.activeUploads).to.equal(0);
    expect((await core.read(record.id, 0, 10)).toString()).to.equal('ciphertext');
    expect(seen.map((s) => [s.state, s.size])).to.deep.equal([['COMPLETED', 10]]);
    const empty = await core.storeWhole(blobMeta, {}, Buffer.alloc(0));
    expect(await core.getStatus(empty.id)).to.include({ state: 'COMPLETED', size: 0 });
    const again = await core
      .storeWhole(blobMeta, { name: 'blobs/one', uniqueName: 'always' }, Buffer.from('x'))
      .catch((e: SpoolError) => e);
    expect((again as SpoolError).code).to.equal('NAME_TAKEN');
    await core.close();
  });

  it('leaves nothing behind when the bytes cannot be written: the resource is deleted, the error thrown', async () => {
    const { core } = await openCore(
      undefined,
      // Bytes in the byte store (none kept in the catalog).
      { inlineMaxBytes: 0 },
      {
        wrap: (real) => ({
          ...real,
          store: appendingThrough(real.store, async () => {
            throw new Error('disk on fire');
          }),
        }),
      },
    );
    const failed = await core.storeWhole(blobMeta, { name: 'blobs/two' }, Buffer.from('lost')).catch((e: Error) => e);
    expect((failed as Error).message).to.match(/disk on fire/);
    expect(await core.list({ nameStartsWith: 'blobs/' })).to.deep.equal([]);
    // The name is free again.
    expect(await core.storeWhole(blobMeta, { name: 'blobs/two', uniqueName: 'always' }, Buffer.alloc(0)).then((r) => r.size)).to.equal(0);
    await core.close();
  });
});

describe('SpoolCore.storeWholeMany (small resources kept in the catalog)', () => {
  const blobMeta = { filename: 'b', mimeType: 'application/octet-stream', supportsLineAccess: false };
  const upload = (name: string, bytes: string) => ({ metadata: blobMeta, options: { name }, bytes: Buffer.from(bytes) });

  it('stores many in one call, readable through every read path, without a file; deletable', async () => {
    const { core, real } = await openCore();
    const { records, refused } = await core.storeWholeMany([upload('blobs/a', 'alpha bytes'), upload('blobs/b', '')], {
      uniqueName: 'always',
    });
    expect(refused).to.equal(undefined);
    expect(records.map((r) => [r.name, r.state, r.size, r.inline])).to.deep.equal([
      ['blobs/a', 'COMPLETED', 11, true],
      ['blobs/b', 'COMPLETED', 0, true],
    ]);
    const [a, b] = records as [ResourceRecord, ResourceRecord];
    expect(await real.store.size(a.id)).to.equal(0);
    expect((await core.read(a.id, 6, 11)).toString()).to.equal('bytes');
    expect(Buffer.concat(await (await core.openRange(a.id, 0, 5)).toArray()).toString()).to.equal('alpha');
    const pieces: Buffer[] = [];
    for await (const piece of await core.openCatchUp(a.id, 1, 11)) pieces.push(piece);
    expect(Buffer.concat(pieces).toString()).to.equal('lpha bytes');
    expect((await core.read(b.id, 0, 0)).length).to.equal(0);
    expect(((await core.read(a.id, 0, 12).catch((e: SpoolError) => e)) as SpoolError).code).to.equal('INVALID_RANGE');
    const seen: ResourceStatus[] = [];
    const stop = await core.subscribe(a.id, (s) => seen.push(s));
    stop();
    expect(seen.map((s) => [s.state, s.size])).to.deep.equal([['COMPLETED', 11]]);
    expect([...(await core.readInline([b.id, a.id, 'unknown'])).keys()].sort()).to.deep.equal([a.id, b.id].sort());
    await core.delete(a.id);
    expect(((await core.read(a.id, 0, 1).catch((e: SpoolError) => e)) as SpoolError).code).to.equal('RESOURCE_NOT_FOUND');
    expect([...(await core.readInline([a.id, b.id])).keys()]).to.deep.equal([b.id]);
    expect(await core.usage('blobs/')).to.deep.equal({ count: 1, bytes: 0 });
    await core.close();
  });

  it('stops at the first name taken, keeping those before it; storeWhole keeps small ones inline too', async () => {
    const { core } = await openCore();
    const single = await core.storeWhole(blobMeta, { name: 'blobs/x', uniqueName: 'always' }, Buffer.from('one'));
    expect(single.inline).to.equal(true);
    const { records, refused } = await core.storeWholeMany(
      [upload('blobs/before', '1'), upload('blobs/x', '2'), upload('blobs/after', '3')],
      { uniqueName: 'always' },
    );
    expect(records.map((r) => r.name)).to.deep.equal(['blobs/before']);
    expect(refused?.code).to.equal('NAME_TAKEN');
    expect((await core.list({ nameStartsWith: 'blobs/' })).map((r) => r.name)).to.deep.equal(['blobs/x', 'blobs/before']);
    const tooLarge = await core
      .storeWholeMany([{ metadata: blobMeta, options: {}, bytes: Buffer.alloc(64 * 1024 + 1) }])
      .catch((e: SpoolError) => e);
    expect((tooLarge as SpoolError).code).to.equal('INVALID_METADATA');
    const large = await core.storeWhole(blobMeta, { name: 'blobs/large' }, Buffer.alloc(64 * 1024 + 1, 7));
    expect(large.inline).to.equal(false);
    expect((await core.read(large.id, 64 * 1024, 64 * 1024 + 1))[0]).to.equal(7);
    await core.close();
  });
});

describe('SpoolCore upload idle timeout', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('tells the owner once when an open upload gets no byte for idleTimeoutMs', async () => {
    const { core } = await openCore(undefined, { idleTimeoutMs: 300 });
    const quiet = await core.createUpload(textMeta);
    const busy = await core.createUpload(textMeta);
    const idle: { id: string; error: SpoolError }[] = [];
    for (const session of [quiet, busy]) session.on('idle', (error: SpoolError) => idle.push({ id: session.id, error }));
    const writer = setInterval(() => busy.write(Buffer.from('still here\n')), 30);
    await sleep(700);
    clearInterval(writer);
    expect(idle.map((event) => event.id)).to.deep.equal([quiet.id]);
    expect(idle[0]?.error).to.be.instanceOf(TimeoutError).and.include({ code: ErrorCode.TIMEOUT, message: 'Upload idle for 300 ms' });
    await busy.finish();
    await sleep(400);
    expect(
      idle.map((event) => event.id),
      'an ended upload never goes idle',
    ).to.deep.equal([quiet.id]);
    await quiet.release();
    await core.close();
  });

  it('does not count time the upload is held back by the disk, and never fires with idleTimeoutMs 0', async () => {
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const stalled = (real: ByteStore) =>
      appendingThrough(real, async (writer, chunks) => {
        await gate;
        await writer.append(chunks);
      });
    const { core } = await openCore(
      undefined,
      { idleTimeoutMs: 150, highWaterMarkBytes: 4 },
      { wrap: (real) => ({ ...real, store: stalled(real.store) }) },
    );
    const { core: never } = await openCore(undefined, { idleTimeoutMs: 0 });
    const held = await core.createUpload(textMeta);
    const untimed = await never.createUpload(textMeta);
    const idle: string[] = [];
    held.on('idle', () => idle.push('held'));
    untimed.on('idle', () => idle.push('untimed'));
    expect(held.write(Buffer.from('more than four bytes\n'))).to.equal(false); // wait for 'drain'
    await sleep(400);
    expect(idle).to.deep.equal([]);
    openGate();
    await sleep(400);
    expect(idle).to.deep.equal(['held']);
    await held.release();
    await untimed.release();
    await Promise.all([core.close(), never.close()]);
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

  it('deletes a resource being written: followers see FAILED, the writer is told, then it is gone', async () => {
    const { logger, errors } = errorRecordingLogger();
    const { core } = await openCore(undefined, {}, { logger });
    const session = await core.createUpload(textMeta);
    const told: SpoolError[] = [];
    session.on('error', (e: SpoolError) => told.push(e));
    session.write(Buffer.from('doomed'));
    const seen: ResourceStatus[] = [];
    await core.subscribe(session.id, (s) => seen.push(s));
    await core.delete(session.id);
    expect(seen[seen.length - 1]).to.include({ state: 'FAILED', error: 'Resource deleted' });
    const deleted = { code: ErrorCode.RESOURCE_NOT_FOUND, message: `Resource ${session.id} was deleted` };
    expect(told.map((e) => ({ code: e.code, message: e.message }))).to.deep.equal([deleted]);
    expect(thrownBy(() => session.write(Buffer.from('more')))).to.include(deleted);
    expect(await session.finish().catch((e: SpoolError) => e)).to.include(deleted);
    const err = (await core.openRange(session.id, 0, 0).catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    const again = (await core.delete(session.id).catch((e: unknown) => e)) as SpoolError;
    expect(again.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    await core.close();
    expect(errors).to.deep.equal([]);
  });

  it('deletes a resumable resource whose writer left: followers see FAILED too', async () => {
    const { core } = await openCore();
    const session = await core.createUpload(textMeta, { resumable: true });
    session.write(Buffer.from('left\n'));
    await session.release();
    const seen: ResourceStatus[] = [];
    await core.subscribe(session.id, (s) => seen.push(s));
    await core.delete(session.id);
    expect(seen.map((s) => s.state)).to.deep.equal(['IN_PROGRESS', 'FAILED']);
    expect(seen[1]).to.include({ error: 'Resource deleted', size: 5 });
    await core.close();
  });

  it('lets a delete racing a resume win: the resumed writer is ended and told, nothing recreated or logged as an error', async () => {
    const { logger, errors } = errorRecordingLogger();
    let gate: Promise<void> | undefined;
    const { core, dataDir } = await openCore(
      undefined,
      {},
      { logger, wrap: (real) => ({ ...real, store: gatedWriters(real.store, () => gate) }) },
    );
    const session = await core.createUpload(textMeta, { resumable: true });
    session.write(Buffer.from('kept\n'));
    await session.release();
    let open: () => void = () => undefined;
    gate = new Promise((resolve) => {
      open = resolve;
    });
    const resuming = core.resumeUpload(session.id, 5);
    const deleting = core.delete(session.id);
    await new Promise((r) => setTimeout(r, 30));
    open();
    const resumed = await resuming;
    await deleting;
    expect(thrownBy(() => resumed.write(Buffer.from('lost\n')))).to.include({ code: ErrorCode.RESOURCE_NOT_FOUND });
    const later = (await core.resumeUpload(session.id, 5).catch((e: unknown) => e)) as SpoolError;
    expect(later.code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    await new Promise((r) => setTimeout(r, 50)); // checkpoints would run meanwhile
    expect(existsSync(path.join(dataDir, 'blobs', session.id))).to.equal(false);
    await core.close();
    expect(errors).to.deep.equal([]);
  });

  describe('on a full disk', () => {
    /** A core whose storage shares `free` bytes (see FullDisk); `real` is the storage underneath. */
    async function onDisk(free: number) {
      let disk: FullDisk | undefined;
      const opened = await openCore(undefined, {}, { wrap: (real) => (disk = new FullDisk(real.store, real.catalog, free)) });
      if (!disk) throw new Error('not wrapped');
      return { ...opened, disk };
    }
    const lastOf = (seen: ResourceStatus[]) => seen[seen.length - 1];

    it('cuts what a failed append left on disk, so the file ends at the FAILED size', async () => {
      const { core, real } = await onDisk(10);
      const session = await core.createUpload(textMeta);
      session.on('error', () => undefined);
      session.write(Buffer.from('first\n'));
      await settle(session);
      session.write(Buffer.from('second line\n')); // 4 of its 12 bytes fit
      const seen: ResourceStatus[] = [];
      await core.subscribe(session.id, (s) => seen.push(s));
      await waitFor(() => lastOf(seen)?.state === 'FAILED');
      expect(lastOf(seen)).to.include({ state: 'FAILED', size: 6, lines: 1 });
      expect(await real.store.size(session.id)).to.equal(6);
      expect(await real.catalog.get(session.id)).to.include({ state: 'FAILED', size: 6 });
      await core.close();
    });

    it('publishes FAILED at once though the catalog cannot record it, and records it once space returns', async () => {
      const { core, real, disk } = await onDisk(6);
      const session = await core.createUpload(textMeta);
      const seen: ResourceStatus[] = [];
      await core.subscribe(session.id, (s) => seen.push(s));
      const told: SpoolError[] = [];
      session.on('error', (e: SpoolError) => told.push(e));
      session.write(Buffer.from('first\n')); // fits; recording it does not
      await waitFor(() => lastOf(seen)?.state === 'FAILED');
      expect(lastOf(seen)).to.include({ state: 'FAILED', size: 6, lines: 1 });
      expect(told[0]?.code).to.equal(ErrorCode.STORAGE_FAILURE);
      expect(told[0]?.message).to.match(/database or disk is full/);
      // Every reader sees the end; the catalog underneath does not have it yet.
      expect(await core.getStatus(session.id)).to.include({ state: 'FAILED', size: 6 });
      expect((await core.list({ state: TransferState.INITIATED })).map((r) => r.id)).to.deep.equal([]);
      expect(await real.catalog.get(session.id)).to.include({ state: 'INITIATED', size: 0 });
      await core.sweep();
      expect(await real.catalog.get(session.id)).to.include({ state: 'INITIATED' });
      disk.free = 1_000_000;
      await core.sweep();
      expect(await real.catalog.get(session.id)).to.include({ state: 'FAILED', size: 6, lines: 1 });
      expect((await readAll(core, session.id, 0, 6)).toString()).to.equal('first\n');
      await core.close();
    });

    it('reports COMPLETED only once recorded: a finish the catalog cannot record is STORAGE_FAILURE, FAILED', async () => {
      const { core } = await onDisk(5);
      const session = await core.createUpload(textMeta);
      session.on('error', () => undefined);
      session.write(Buffer.from('abcde'));
      const err = (await session.finish().catch((e: unknown) => e)) as SpoolError;
      expect(err.code).to.equal(ErrorCode.STORAGE_FAILURE);
      expect(await core.getStatus(session.id)).to.include({ state: 'FAILED', size: 5 });
      await core.close();
    });

    it('ends a resumable upload FAILED when its writer leaves and the catalog cannot record where it stopped', async () => {
      const { core } = await onDisk(5);
      const session = await core.createUpload(textMeta, { resumable: true });
      const seen: ResourceStatus[] = [];
      await core.subscribe(session.id, (s) => seen.push(s));
      session.on('error', () => undefined);
      session.write(Buffer.from('abcde'));
      const err = (await session.release().catch((e: unknown) => e)) as SpoolError;
      expect(err.code).to.equal(ErrorCode.STORAGE_FAILURE);
      expect(lastOf(seen)).to.include({ state: 'FAILED', size: 5 });
      expect(await core.getStatus(session.id)).to.include({ state: 'FAILED', size: 5 });
      await core.close();
    });

    it('deletes: the bytes go first and free the space the catalog needs; else the delete waits in memory', async () => {
      const { core, real, disk } = await onDisk(100);
      const done = await core.createUpload(textMeta);
      done.write(Buffer.alloc(50, 'd'));
      await done.finish();
      const empty = await core.createUpload(textMeta);
      const filler = await core.createUpload(textMeta);
      filler.on('error', () => undefined);
      filler.write(Buffer.alloc(50, 'f')); // the disk is full now
      await waitFor(() => filler.status.state === 'FAILED');
      await core.delete(done.id);
      expect(await real.catalog.get(done.id)).to.equal(undefined);
      expect(await real.store.size(done.id)).to.equal(0);
      disk.free = 0;
      // Nothing to free: the catalog cannot write, yet the resource is gone for every reader.
      await core.delete(empty.id);
      expect(((await core.getStatus(empty.id).catch((e: unknown) => e)) as SpoolError).code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
      expect(await real.catalog.get(empty.id)).to.include({ id: empty.id });
      disk.free = 1000;
      await core.sweep();
      expect(await real.catalog.get(empty.id)).to.equal(undefined);
      await core.delete(filler.id);
      expect(await real.catalog.get(filler.id)).to.equal(undefined);
      await core.close();
    });
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
