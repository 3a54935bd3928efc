import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ErrorCode, QuotaExceededError } from '@spool/common';
import { expect } from 'chai';
import { growingFile } from './growing-file.js';
import type { UploadChunk } from './types.js';
import { chunkToBuffer, readUploadSource, releaseUploadSource, sourceFailure } from './upload-source.js';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) {
    expect(Buffer.isBuffer(chunk)).to.equal(true);
    chunks.push(chunk);
  }
  return chunks;
}

describe('readUploadSource', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-source-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file path and a file: URL in bounded chunks', async () => {
    const path = join(dir, 'data.bin');
    const content = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    await writeFile(path, content);
    for (const source of [path, pathToFileURL(path)]) {
      const chunks = await collect(readUploadSource(source, { chunkBytes: 1024 }));
      expect(Math.max(...chunks.map((c) => c.length))).to.be.at.most(1024);
      expect(Buffer.concat(chunks).equals(content)).to.equal(true);
    }
  });

  it('cuts buffers and Uint8Arrays into views without copying', async () => {
    const buffer = Buffer.alloc(2500, 1);
    const chunks = await collect(readUploadSource(buffer, { chunkBytes: 1000 }));
    expect(chunks.map((c) => c.length)).to.deep.equal([1000, 1000, 500]);
    expect(chunks[0]?.buffer).to.equal(buffer.buffer);
    const bytes = new Uint8Array([1, 2, 3]);
    expect(Buffer.concat(await collect(readUploadSource(bytes))).equals(Buffer.from([1, 2, 3]))).to.equal(true);
    expect(await collect(readUploadSource(Buffer.alloc(0)))).to.deep.equal([]);
  });

  it('normalises Readables and (async) iterables of Buffer, Uint8Array and string', async () => {
    const mixed: UploadChunk[] = ['héllo ', new Uint8Array([0x41]), Buffer.from(' world')];
    const expected = Buffer.concat([Buffer.from('héllo '), Buffer.from([0x41]), Buffer.from(' world')]);
    const fromAsync = async function* () {
      yield* mixed;
    };
    for (const source of [Readable.from(mixed), fromAsync(), mixed, Readable.from(Buffer.from(expected))]) {
      expect(Buffer.concat(await collect(readUploadSource(source))).equals(expected)).to.equal(true);
    }
    const decoded = Readable.from([Buffer.from('é')]).setEncoding('utf8');
    expect(Buffer.concat(await collect(readUploadSource(decoded))).toString()).to.equal('é');
  });

  it('destroys a stream when iteration stops early', async () => {
    const stream = Readable.from(['a', 'b', 'c']);
    for await (const _chunk of readUploadSource(stream)) break;
    expect(stream.destroyed).to.equal(true);
  });

  it('rejects chunks of other types', async () => {
    const source = [42] as unknown as UploadChunk[];
    const error = await collect(readUploadSource(source)).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TypeError);
    expect(() => chunkToBuffer({} as UploadChunk)).to.throw(TypeError);
  });
});

describe('what an upload does with its source when it fails', () => {
  it('releases a pending read: a growing file is aborted with the reason, a stream destroyed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spool-release-'));
    try {
      const path = join(dir, 'growing.log');
      await writeFile(path, '');
      const file = growingFile(path, { pollIntervalMs: 10 });
      const pending = file[Symbol.asyncIterator]().next();
      const reason = new Error('upload cancelled');
      releaseUploadSource(file, reason);
      expect(await pending.catch((e: unknown) => e)).to.equal(reason);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const stream = new Readable({ read() {} });
    releaseUploadSource(stream, new Error('x'));
    expect(stream.destroyed).to.equal(true);
    releaseUploadSource(Buffer.from('nothing to release'), new Error('x'));
  });

  it('reports a read error as UPLOAD_ABORTED with the cause kept; SpoolErrors as they are', () => {
    const cause = new Error('EIO: i/o error');
    const failure = sourceFailure(cause);
    expect([failure.code, failure.message, failure.cause]).to.deep.equal([
      ErrorCode.UPLOAD_ABORTED,
      'Reading the upload source failed: EIO: i/o error',
      cause,
    ]);
    expect(sourceFailure('text').details).to.deep.equal({ cause: 'text' });
    const quota = new QuotaExceededError('too big');
    expect(sourceFailure(quota)).to.equal(quota);
  });
});
