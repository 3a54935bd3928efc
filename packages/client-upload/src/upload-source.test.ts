import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { UploadChunk } from './types.js';
import { chunkToBuffer, readUploadSource } from './upload-source.js';

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
