import { ErrorCode, SpoolError } from '@spool/common';
import { expect } from 'chai';
import { splitIntoFrames, uploadFrames } from './frames.js';
import { growingFile } from './growing-file.js';
import { resolveUploadMetadata } from './upload-metadata.js';

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
