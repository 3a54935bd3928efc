import { PassThrough, Readable } from 'node:stream';
import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { peekFirstChunk } from './peek-stream.js';

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

describe('peekFirstChunk', () => {
  it('returns the first chunk and puts it back: the next reader gets every byte', async () => {
    const stream = new PassThrough();
    const peeked = peekFirstChunk(stream, 0);
    stream.write('hello ');
    expect(String(await peeked)).to.equal('hello ');
    stream.end('world');
    expect(await readAll(stream)).to.equal('hello world');
  });

  it('is empty for a stream that ends (or closes) without a byte', async () => {
    expect((await peekFirstChunk(Readable.from([]), 0)).length).to.equal(0);
    const closed = new PassThrough();
    const peeked = peekFirstChunk(closed, 0);
    closed.destroy();
    expect((await peeked).length).to.equal(0);
  });

  it('gives up with TIMEOUT after the idle timeout without a byte', async () => {
    const error = await peekFirstChunk(new PassThrough(), 20).catch((e: unknown) => e);
    expect((error as SpoolError).code).to.equal(ErrorCode.TIMEOUT);
  });
});
