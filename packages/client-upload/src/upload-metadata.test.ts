import { ErrorCode, SpoolError } from '@spool/common';
import { expect } from 'chai';
import { splitIntoFrames, uploadFrames } from './frames.js';
import { growingFile } from './growing-file.js';
import { prepareUpload, resolveUploadMetadata } from './upload-metadata.js';

describe('resolveUploadMetadata', () => {
  it('derives the filename from a path source and line access from text/*', () => {
    expect(resolveUploadMetadata('/var/log/build.log', { mimeType: 'text/plain' })).to.deep.equal({
      filename: 'build.log',
      mimeType: 'text/plain',
      supportsLineAccess: true,
    });
    expect(resolveUploadMetadata(growingFile('/tmp/trace.bin'))).to.deep.equal({
      filename: 'trace.bin',
      mimeType: 'application/octet-stream',
      supportsLineAccess: false,
    });
    expect(resolveUploadMetadata(Buffer.alloc(1), { filename: 'a.txt', sourceCharset: 'latin1' }).mimeType).to.equal('text/plain');
    expect(
      resolveUploadMetadata(Buffer.alloc(1), { filename: 'a.csv', mimeType: 'text/csv', supportsLineAccess: false }).supportsLineAccess,
    ).to.equal(false);
  });

  it('rejects missing filenames and MIME types with parameters', () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as SpoolError).code;
      }
      return undefined;
    };
    expect(codeOf(() => resolveUploadMetadata(Buffer.alloc(1)))).to.equal(ErrorCode.INVALID_METADATA);
    expect(codeOf(() => resolveUploadMetadata(Buffer.alloc(1), { filename: 'a', mimeType: 'text/plain; charset=utf-8' }))).to.equal(
      ErrorCode.INVALID_METADATA,
    );
    expect(codeOf(() => resolveUploadMetadata(Buffer.alloc(1), { filename: 'a/b' }))).to.equal(ErrorCode.INVALID_METADATA);
    expect(() => resolveUploadMetadata(Buffer.alloc(1))).to.throw(SpoolError);
  });
});

describe('splitIntoFrames', () => {
  it('cuts chunks into frames of at most the limit and drops empty ones', async () => {
    async function* chunks() {
      yield Buffer.alloc(0);
      yield Buffer.alloc(10, 1);
      yield Buffer.alloc(3, 2);
    }
    const sizes: number[] = [];
    for await (const frame of splitIntoFrames(chunks(), 4)) sizes.push(frame.length);
    expect(sizes).to.deep.equal([4, 4, 2, 3]);
  });
});

describe('uploadFrames', () => {
  it("makes an upload's frames from any source: read in frame-size pieces, transcoded when a charset is named", async () => {
    const collect = async (frames: AsyncIterable<Buffer>) => {
      const all: Buffer[] = [];
      for await (const frame of frames) all.push(frame);
      return all;
    };
    const plain = await collect(uploadFrames(Buffer.alloc(10, 1), {}, 4));
    expect(plain.map((f) => f.length)).to.deep.equal([4, 4, 2]);
    const latin1 = await collect(uploadFrames(Buffer.from([0x63, 0x61, 0x66, 0xe9]), { sourceCharset: 'ISO-8859-1' }, 3));
    expect(Buffer.concat(latin1).toString('utf8')).to.equal('café');
    expect(Math.max(...latin1.map((f) => f.length))).to.be.at.most(3);
  });
});

describe('prepareUpload', () => {
  const collect = async (frames: AsyncIterable<Buffer>) => {
    const all: Buffer[] = [];
    for await (const frame of frames) all.push(frame);
    return Buffer.concat(all);
  };

  it('takes the type from the file name (build.log, trace.ndjson: line access), with the size of a buffer', async () => {
    const log = await prepareUpload(Buffer.from('a\n'), { filename: 'build.log' }, 4);
    expect(log.metadata).to.deep.equal({ filename: 'build.log', mimeType: 'text/plain', supportsLineAccess: true });
    expect(log.totalBytes).to.equal(2);
    const ndjson = await prepareUpload(Buffer.from('{}\n'), { filename: 'trace.ndjson' }, 4);
    expect(ndjson.metadata).to.include({ mimeType: 'application/x-ndjson', supportsLineAccess: true });
  });

  it('decides a type nothing tells by the first bytes, and still sends them', async () => {
    async function* source() {
      yield Buffer.from('step 1\n');
      yield Buffer.from('step 2\n');
    }
    const text = await prepareUpload(source(), { filename: 'output' }, 3);
    expect(text.metadata).to.include({ mimeType: 'text/plain', supportsLineAccess: true });
    expect(text.totalBytes).to.equal(undefined);
    expect((await collect(text.frames)).toString()).to.equal('step 1\nstep 2\n');
    const binary = await prepareUpload(Buffer.from([0, 1, 2]), { filename: 'blob' }, 64);
    expect(binary.metadata).to.include({ mimeType: 'application/octet-stream', supportsLineAccess: false });
    expect([...(await collect(binary.frames))]).to.deep.equal([0, 1, 2]);
    const empty = await prepareUpload(Buffer.alloc(0), { filename: 'nothing' }, 64);
    expect(empty.metadata.mimeType).to.equal('application/octet-stream');
  });

  it('refuses a bad filename before reading, and reports a source that cannot be read as UPLOAD_ABORTED', async () => {
    const read: string[] = [];
    async function* watched() {
      read.push('read');
      yield Buffer.from('x');
    }
    const bad = await prepareUpload(watched(), { filename: 'a/b' }, 4).catch((e: unknown) => e);
    expect((bad as SpoolError).code).to.equal(ErrorCode.INVALID_METADATA);
    expect(read).to.deep.equal([]);
    async function* failing(): AsyncGenerator<Buffer> {
      yield* [];
      throw new Error('EACCES');
    }
    const unreadable = await prepareUpload(failing(), { filename: 'noext' }, 4).catch((e: unknown) => e);
    expect((unreadable as SpoolError).code).to.equal(ErrorCode.UPLOAD_ABORTED);
  });
});
