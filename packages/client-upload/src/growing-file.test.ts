import { appendFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SpoolError } from '@spool/common';
import { expect } from 'chai';
import { GrowingFile, growingFile } from './growing-file.js';

async function collect(source: AsyncIterable<Buffer>, onChunk?: (chunk: Buffer) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) {
    onChunk?.(chunk);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

describe('growingFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-growing-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('tails a file while a writer appends, then drains to the final end after complete()', async () => {
    const path = join(dir, 'build.log');
    await writeFile(path, 'line 0\n');
    const file = growingFile(path, { pollIntervalMs: 5, chunkBytes: 64 });
    const writer = (async () => {
      for (let i = 1; i <= 200; i++) {
        await appendFile(path, `line ${i} ${'x'.repeat(i % 37)}\n`);
        if (i % 20 === 0) await sleep(3);
      }
      // The last bytes land right before complete(): they must still be read.
      await appendFile(path, 'tail without newline');
      file.complete();
    })();
    let largest = 0;
    const received = await collect(file, (chunk) => {
      largest = Math.max(largest, chunk.length);
    });
    await writer;
    expect(received.equals(await readFile(path))).to.equal(true);
    expect(largest).to.be.at.most(64);
    expect(file.bytesRead).to.equal(received.length);
  });

  it('waits for a file that does not exist yet', async () => {
    const path = join(dir, 'late.log');
    const file = new GrowingFile(path, { pollIntervalMs: 5, waitForFileMs: 5_000 });
    setTimeout(() => {
      void writeFile(path, 'hello\n').then(() => file.complete());
    }, 50);
    expect((await collect(file)).toString()).to.equal('hello\n');
  });

  it('fails when the file never appears', async () => {
    const file = growingFile(join(dir, 'missing.log'), { pollIntervalMs: 5, waitForFileMs: 40 });
    const error = await collect(file).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).to.equal('ENOENT');
  });

  it('reads a finished file whole when complete() comes first', async () => {
    const path = join(dir, 'done.log');
    const content = Buffer.alloc(300_000, 7);
    await writeFile(path, content);
    const file = growingFile(path, { pollIntervalMs: 1_000 });
    file.complete();
    expect((await collect(file)).equals(content)).to.equal(true);
  });

  it('wakes an idle poll at once on complete() and on abort()', async () => {
    const path = join(dir, 'idle.log');
    await writeFile(path, 'a');
    const completed = growingFile(path, { pollIntervalMs: 60_000 });
    const started = Date.now();
    setTimeout(() => completed.complete(), 30);
    expect((await collect(completed)).toString()).to.equal('a');

    const aborted = growingFile(path, { pollIntervalMs: 60_000 });
    setTimeout(() => aborted.abort('stop'), 30);
    const error = await collect(aborted).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SpoolError);
    expect((error as SpoolError).code).to.equal(ErrorCode.UPLOAD_ABORTED);
    expect(Date.now() - started).to.be.below(5_000);
  });

  it('fails if the file shrinks', async () => {
    const path = join(dir, 'rotated.log');
    await writeFile(path, 'some bytes here');
    const file = growingFile(path, { pollIntervalMs: 5 });
    const reading = collect(file).catch((e: unknown) => e);
    await sleep(30);
    await truncate(path, 2);
    const error = await reading;
    expect((error as SpoolError).code).to.equal(ErrorCode.UPLOAD_ABORTED);
    expect((error as SpoolError).message).to.match(/shrank/);
  });

  it('can be iterated only once', async () => {
    const file = growingFile(join(dir, 'x.log'));
    file[Symbol.asyncIterator]();
    expect(() => file[Symbol.asyncIterator]()).to.throw(/only once/);
  });
});
