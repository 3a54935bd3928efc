import path from 'node:path';
import { Readable } from 'node:stream';
import { type BlobUploadEntry, blobUploadPreamble, MessageTooLargeError, TransferState } from '@spool/common';
import { expect } from 'chai';
import fc from 'fast-check';
import winston from 'winston';
import { SqliteCatalog } from '../../../core/catalog/sqlite-catalog.js';
import { MemoryEventBus } from '../../../core/events/memory-event-bus.js';
import { SpoolCore } from '../../../core/spool-core.js';
import { FileByteStore } from '../../../core/storage/file-byte-store.js';
import { freshTempDir } from '../../../core/testing/temp-dirs.js';
import { pumpStream } from '../../../transport/http/body-pump.js';
import { type BlobSpaceRef, blobIn } from '../blob-names.js';
import { BlobSpace } from '../blob-space.js';
import { BlobError } from '../errors.js';
import { BATCH_BLOBS, BATCH_DELAY_MS, BlobUploadSink } from './upload-sink.js';

const logger = winston.createLogger({ silent: true });

/** An upload body: the first line, then every blob's bytes. */
function bodyOf(blobs: readonly [string, Buffer][]): Buffer {
  return Buffer.concat([blobUploadPreamble(blobs.map(([id, bytes]) => [id, bytes.length])), ...blobs.map(([, bytes]) => bytes)]);
}

/** `body` cut at `cuts` (sorted offsets) into chunks. */
function chunked(body: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => Math.min(cut, body.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const point of [...points, body.length]) {
    if (point > at) chunks.push(body.subarray(at, point));
    at = point;
  }
  return chunks;
}

describe('BlobUploadSink (the stream upload demultiplexer)', () => {
  let core: SpoolCore;
  let blobs: BlobSpace;
  let spaces = 0;
  before(async () => {
    const dir = freshTempDir('blob-sink');
    core = new SpoolCore(
      { catalog: new SqliteCatalog(path.join(dir, 'catalog.sqlite')), store: new FileByteStore(dir), bus: new MemoryEventBus(), logger },
      {
        checkpointIntervalMs: 50,
        maxActiveUploads: 0,
        maxResourceBytes: 0,
        highWaterMarkBytes: 64 * 1024,
        syncOnCheckpoint: false,
        maxLinesReplyBytes: 1024 * 1024,
        resumeGraceMs: 60_000,
        retentionMs: 0,
        sweepIntervalMs: 60_000,
      },
    );
    await core.start();
    blobs = new BlobSpace(core, logger);
  });
  after(() => core.close());

  const freshSpace = (): BlobSpaceRef => ({ user: 'u', namespace: `ns${++spaces}` });

  /** Pumps `chunks` through a sink as the route does; resolves with `end()`'s count or the error (after `abort`). */
  async function upload(
    space: BlobSpaceRef,
    chunks: Buffer[],
    options: {
      window?: number;
      maxListBytes?: number;
      smallBlobBytes?: number;
      admit?: (entries: readonly BlobUploadEntry[]) => Promise<void>;
    } = {},
  ): Promise<{ stored: number; error?: BlobError | Error }> {
    const sink = new BlobUploadSink({
      blobs,
      space,
      maxListBytes: options.maxListBytes ?? 1024 * 1024,
      window: options.window ?? 4,
      ...(options.smallBlobBytes === undefined ? {} : { smallBlobBytes: options.smallBlobBytes }),
      admit: options.admit ?? (async () => undefined),
    });
    try {
      await pumpStream(Readable.from(chunks, { objectMode: false }), sink, {
        room: Number.POSITIVE_INFINITY,
        tooLarge: () => new MessageTooLargeError(0),
        interrupted: () => undefined,
      }).done;
      return { stored: await sink.end() };
    } catch (err) {
      return { stored: await sink.abort((err as Error).message), error: err as Error };
    }
  }

  /** What `run` resolves to, and the most upload sessions the core held open meanwhile. */
  async function mostOpenDuring<T>(run: () => Promise<T>): Promise<[T, number]> {
    let mostOpen = 0;
    const watch = setInterval(() => {
      mostOpen = Math.max(mostOpen, core.activeUploads);
    }, 0);
    try {
      return [await run(), mostOpen];
    } finally {
      clearInterval(watch);
    }
  }

  async function storedBytes(space: BlobSpaceRef, id: string): Promise<Buffer | undefined> {
    const record = await blobs.find(blobIn(space, id));
    if (!record) return undefined;
    expect(record.state, id).to.equal(TransferState.COMPLETED);
    return core.read(record.id, 0, record.size);
  }

  it('stores every blob byte for byte whatever the chunking, small (stored whole) or not (fuzzed: sizes 0 … 3000, any cuts)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 8 }),
        fc.array(fc.nat({ max: 30_000 }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(0, 1500, 3000),
        async (contents, cuts, window, smallBlobBytes) => {
          const space = freshSpace();
          const list = contents.map((bytes, i): [string, Buffer] => [`b${i}`, Buffer.from(bytes)]);
          const result = await upload(space, chunked(bodyOf(list), cuts), { window, smallBlobBytes });
          expect(result.error).to.equal(undefined);
          expect(result.stored).to.equal(list.length);
          for (const [id, bytes] of list) expect(await storedBytes(space, id), id).to.deep.equal(bytes);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('answers any first line with a clear 400 or an upload, never a crash (fuzzed)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 60 }), fc.json({ maxDepth: 3 })),
        fc.uint8Array({ maxLength: 40 }),
        async (line, rest) => {
          const space = freshSpace();
          const result = await upload(space, [Buffer.from(`${line}\n`), Buffer.from(rest)]);
          if (result.error) {
            expect((result.error as BlobError).code, line).to.be.oneOf(['INVALID_MESSAGE', 'UPLOAD_ABORTED']);
            expect(result.error.message).to.be.a('string').and.not.equal('');
          }
          // Whatever was refused, nothing unfinished is left behind.
          const left = await core.list({ nameStartsWith: `blob-sync/u/${space.namespace}/` });
          expect(left.every((record) => record.state === TransferState.COMPLETED)).to.equal(true);
          expect(left).to.have.length(result.stored);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('does not store a truncated blob: the ones before it stay, it is deleted, the later ones never exist', async () => {
    const space = freshSpace();
    const body = bodyOf([
      ['first', Buffer.from('complete')],
      ['second', Buffer.from('0123456789')],
      ['third', Buffer.from('never')],
    ]);
    const cut = body.length - 'never'.length - 4; // 6 of second's 10 bytes
    const result = await upload(space, [body.subarray(0, cut)]);
    expect(result.error).to.be.instanceOf(BlobError);
    const error = result.error as BlobError;
    expect([error.status, error.errorName, error.fields]).to.deep.equal([
      400,
      'BlobTruncated',
      { blob: 'second', expected: 10, received: 6 },
    ]);
    expect(result.stored).to.equal(1);
    expect((await storedBytes(space, 'first'))?.toString()).to.equal('complete');
    expect(await blobs.find(blobIn(space, 'second'))).to.equal(undefined);
    expect(await blobs.find(blobIn(space, 'third'))).to.equal(undefined);
  });

  it('stores small blobs without an upload session, and refuses one whose id was taken meanwhile (409), keeping the others', async () => {
    const space = freshSpace();
    const list = Array.from({ length: 50 }, (_, i): [string, Buffer] => [`s${i}`, Buffer.alloc(i * 20, i)]);
    const [result, mostOpen] = await mostOpenDuring(() => upload(space, chunked(bodyOf(list), [10, 500, 501, 9000]), { window: 8 }));
    expect(result).to.deep.equal({ stored: 50 });
    expect(mostOpen).to.equal(0);
    for (const [id, bytes] of list) expect(await storedBytes(space, id), id).to.deep.equal(bytes);
    // Admitted, then taken by another writer before its bytes came: 409, nothing half-stored.
    const again = freshSpace();
    await blobs.storeWhole(blobIn(again, 'taken'), Buffer.from('first'));
    const raced = await upload(again, [
      bodyOf([
        ['free', Buffer.from('ok')],
        ['taken', Buffer.from('second')],
      ]),
    ]);
    expect((raced.error as BlobError).status).to.equal(409);
    expect(raced.stored).to.equal(1);
    expect((await storedBytes(again, 'taken'))?.toString()).to.equal('first');
    expect((await storedBytes(again, 'free'))?.toString()).to.equal('ok');
    const left = await core.list({ nameStartsWith: `blob-sync/u/${again.namespace}/` });
    expect(left.map((record) => record.state)).to.deep.equal([TransferState.COMPLETED, TransferState.COMPLETED]);
  });

  it('stores small blobs in batches bounded by count, bytes inline; a cut in a later batch keeps every complete blob before it', async () => {
    const space = freshSpace();
    const count = BATCH_BLOBS * 2 + 100;
    const list = Array.from({ length: count }, (_, i): [string, Buffer] => [`m${i}`, Buffer.from(`blob number ${i}`)]);
    const body = bodyOf(list);
    const calls: number[] = [];
    const storeWholeMany = blobs.storeWholeMany.bind(blobs);
    blobs.storeWholeMany = (to, batch) => {
      calls.push(batch.length);
      return storeWholeMany(to, batch);
    };
    let result: Awaited<ReturnType<typeof upload>>;
    try {
      // Cut 3 bytes into the last blob.
      result = await upload(space, chunked(body.subarray(0, body.length - (list.at(-1)?.[1].length ?? 0) + 3), [4096, 50_000]));
    } finally {
      blobs.storeWholeMany = storeWholeMany;
    }
    expect((result.error as BlobError).errorName).to.equal('BlobTruncated');
    expect(result.stored).to.equal(count - 1);
    expect(calls.slice(0, 2)).to.deep.equal([BATCH_BLOBS, BATCH_BLOBS]);
    expect(calls.reduce((a, b) => a + b, 0)).to.equal(count - 1);
    const stored = await core.list({ nameStartsWith: `blob-sync/u/${space.namespace}/`, limit: 1000 });
    expect(stored.length).to.equal(Math.min(1000, count - 1));
    expect(stored.every((record) => record.inline && record.state === TransferState.COMPLETED)).to.equal(true);
    expect((await storedBytes(space, `m${count - 2}`))?.toString()).to.equal(`blob number ${count - 2}`);
    expect(await blobs.find(blobIn(space, `m${count - 1}`))).to.equal(undefined);
  });

  it('stores a batch not full once BATCH_DELAY_MS passed, while the body is still coming', async () => {
    const space = freshSpace();
    const body = bodyOf([
      ['early', Buffer.from('here soon')],
      ['late', Buffer.from('later')],
    ]);
    const cut = body.length - 'later'.length;
    let readableBeforeEnd: Buffer | undefined;
    async function* slowly() {
      yield body.subarray(0, cut);
      await new Promise((resolve) => setTimeout(resolve, BATCH_DELAY_MS * 5));
      readableBeforeEnd = await storedBytes(space, 'early');
      yield body.subarray(cut);
    }
    const sink = new BlobUploadSink({ blobs, space, maxListBytes: 1024, window: 4, admit: async () => undefined });
    await pumpStream(Readable.from(slowly()), sink, {
      room: Number.POSITIVE_INFINITY,
      tooLarge: () => new MessageTooLargeError(0),
      interrupted: () => undefined,
    }).done;
    expect(await sink.end()).to.equal(2);
    expect(readableBeforeEnd?.toString()).to.equal('here soon');
    expect((await storedBytes(space, 'late'))?.toString()).to.equal('later');
  });

  it('refuses bytes past the last blob (400), keeping the complete blobs', async () => {
    const space = freshSpace();
    const result = await upload(space, [bodyOf([['only', Buffer.from('abc')]]), Buffer.from('extra')]);
    expect(result.error?.message).to.match(/goes on after the last blob/);
    expect((result.error as BlobError).status).to.equal(400);
    expect((await storedBytes(space, 'only'))?.toString()).to.equal('abc');
  });

  it('refuses a first line longer than the limit before it is all read, and a body without one', async () => {
    const long = await upload(freshSpace(), [Buffer.from('['.repeat(100)), Buffer.from('['.repeat(100))], { maxListBytes: 150 });
    expect(long.error?.message).to.match(/longer than 150 bytes/);
    const none = await upload(freshSpace(), [Buffer.from('[["a",1]]')]);
    expect(none.error?.message).to.match(/ended inside its first line/);
    const empty = await upload(freshSpace(), []);
    expect(empty.error?.message).to.match(/Empty upload/);
  });

  it('creates nothing when the list is refused', async () => {
    const space = freshSpace();
    const result = await upload(space, [bodyOf([['x', Buffer.from('1')]])], {
      admit: async () => {
        throw new BlobError(409, 'BlobExists', 'NAME_TAKEN', 'exists', { existing: ['x'] });
      },
    });
    expect((result.error as BlobError).status).to.equal(409);
    expect(await core.list({ nameStartsWith: `blob-sync/u/${space.namespace}/` })).to.have.length(0);
  });

  it('holds one blob open at a time without a window (maxActiveUploads)', async () => {
    const space = freshSpace();
    const list = Array.from({ length: 20 }, (_, i): [string, Buffer] => [`w${i}`, Buffer.alloc(i * 10, i)]);
    const [result, mostOpen] = await mostOpenDuring(() => upload(space, chunked(bodyOf(list), [50, 51, 300, 301, 1000]), { window: 0 }));
    expect(result).to.deep.equal({ stored: 20 });
    expect(mostOpen).to.be.at.most(1);
  });
});
