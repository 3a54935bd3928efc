import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { growingFile } from '@spool/client-upload';
import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { createUploadClient } from './factories.js';
import { StepUploadClient } from './step-upload-client.js';
import { FakeStepServer, type RecordedFrame } from './testing/fake-step-server.js';

const OPCODE = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8 } as const;

function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as SpoolError).code;
  }
  return undefined;
}

/** The data frames of a recorded upload (binary + continuations). */
function dataFrames(frames: RecordedFrame[]): RecordedFrame[] {
  return frames.filter((f) => f.opcode === OPCODE.BINARY || f.opcode === OPCODE.CONTINUATION);
}

describe('StepUploadClient (against a fake Step server)', () => {
  let server: FakeStepServer;
  let dir: string;
  beforeEach(async () => {
    server = await FakeStepServer.start();
    dir = await mkdtemp(join(tmpdir(), 'spool-ws-'));
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends one fragmented binary message ending with an empty FIN frame, then FinishUpload and close 1000', async () => {
    const client = new StepUploadClient({ url: server.url.replace('ws:', 'http:'), frameSize: 1000 });
    const content = Buffer.from(Array.from({ length: 120 }, (_, i) => `line ${i}\n`).join(''));
    const upload = await client.upload(content, { filename: 'log.txt', mimeType: 'text/plain' });
    expect(upload.reference.id).to.equal('r1');
    expect(upload.reference.uri).to.equal(`${server.url}/ws/streaming/download/r1`);
    const result = await upload.complete();
    expect(result).to.deep.equal({ reference: upload.reference, size: content.length, checksum: md5(content), lines: 120 });
    expect(upload.bytesSent).to.equal(content.length);

    const recorded = server.uploads[0];
    await recorded?.closed;
    expect(recorded?.close).to.deep.equal({ code: 1000, reason: 'Upload completed' });
    expect(recorded?.finishChecksum).to.equal(md5(content));
    expect(server.contentOf('r1').equals(content)).to.equal(true);
    const frames = recorded?.frames ?? [];
    const data = dataFrames(frames);
    expect(data[0]).to.include({ opcode: OPCODE.BINARY, fin: false });
    expect(data.slice(1, -1).every((f) => f.opcode === OPCODE.CONTINUATION && !f.fin && f.length > 0 && f.length <= 1000)).to.equal(true);
    expect(data.at(-1)).to.deep.equal({ opcode: OPCODE.CONTINUATION, fin: true, length: 0 });
    expect(data.reduce((sum, f) => sum + f.length, 0)).to.equal(content.length);
    // StartUpload, the data, FinishUpload, close — in that order.
    expect(frames.map((f) => f.opcode).filter((op) => op !== OPCODE.CONTINUATION)).to.deep.equal([
      OPCODE.TEXT,
      OPCODE.BINARY,
      OPCODE.TEXT,
      OPCODE.CLOSE,
    ]);
  });

  it('hashes for a server that does not announce it does (a Java Step server), even with verifyMd5 false', async () => {
    const content = Buffer.from('abc\n');
    const result = await (
      await new StepUploadClient({ url: server.url, verifyMd5: false }).upload(content, { filename: 'a.txt' })
    ).complete();
    expect(result.checksum).to.equal(md5(content));
    expect(server.uploads[0]?.finishChecksum).to.equal(md5(content));
  });

  it('skips the client MD5 when the server announces it hashes (Spool), unless verifyMd5 is set', async () => {
    const spoolLike = await FakeStepServer.start({ announceServerChecksum: true });
    try {
      const content = Buffer.from('line\n'.repeat(100));
      const fast = await (await new StepUploadClient({ url: spoolLike.url }).upload(content, { filename: 'a.log' })).complete();
      expect(fast).to.include({ size: content.length, checksum: md5(content) });
      expect(spoolLike.uploads[0]?.finishChecksum).to.equal('');
      const verified = await (
        await new StepUploadClient({ url: spoolLike.url, verifyMd5: true }).upload(content, { filename: 'b.log' })
      ).complete();
      expect(verified.checksum).to.equal(md5(content));
      expect(spoolLike.uploads[1]?.finishChecksum).to.equal(md5(content));
    } finally {
      await spoolLike.close();
    }
  });

  it('sends no binary message at all for zero bytes', async () => {
    const upload = await createUploadClient(server.url, { protocol: 'step' }).upload(Buffer.alloc(0), {
      filename: 'empty.txt',
      mimeType: 'text/plain',
    });
    const result = await upload.complete();
    expect(result).to.include({ size: 0, checksum: 'd41d8cd98f00b204e9800998ecf8427e', lines: 0 });
    await server.uploads[0]?.closed;
    expect(dataFrames(server.uploads[0]?.frames ?? [])).to.deep.equal([]);
  });

  it('reads the line count from the misspelled numberOflines of a Java server', async () => {
    await server.close();
    server = await FakeStepServer.start({ javaAckSpelling: true });
    const upload = await createUploadClient(server.url, { protocol: 'step' }).upload(Buffer.from('a\nb\n'), {
      filename: 'a.txt',
      mimeType: 'text/plain',
    });
    expect((await upload.complete()).lines).to.equal(2);
  });

  it('transcodes ISO-8859-1 to UTF-8 on the fly; size, checksum and lines refer to the UTF-8 bytes', async () => {
    const text = 'Grüße\ncafé\n\u0080\u00ff';
    const latin1 = Buffer.from(text, 'latin1');
    const utf8 = Buffer.from(text, 'utf8');
    const upload = await createUploadClient(server.url, { protocol: 'step', frameSize: 3 }).upload(latin1, {
      filename: 'l.txt',
      sourceCharset: 'ISO-8859-1',
    });
    const result = await upload.complete();
    expect(result).to.include({ size: utf8.length, checksum: md5(utf8), lines: 3 });
    expect(server.contentOf(result.reference.id).equals(utf8)).to.equal(true);
  });

  it('uploads a growing file as it is written and finishes on complete()', async () => {
    const path = join(dir, 'build.log');
    await writeFile(path, '');
    const upload = await createUploadClient(server.url, { protocol: 'step' }).upload(growingFile(path, { pollIntervalMs: 5 }), {
      mimeType: 'text/plain',
    });
    for (let i = 0; i < 50; i++) {
      await appendFile(path, `step ${i}\n`);
      if (i % 10 === 0) await sleep(5);
    }
    const result = await upload.complete();
    const expected = Buffer.from(Array.from({ length: 50 }, (_, i) => `step ${i}\n`).join(''));
    expect(result).to.include({ size: expected.length, checksum: md5(expected), lines: 50 });
    expect(server.contentOf(result.reference.id).equals(expected)).to.equal(true);
  });

  it('cancel() closes with 4000 and the reason; the resource is FAILED and complete() rejects', async () => {
    const path = join(dir, 'never-done.log');
    await writeFile(path, 'partial\n');
    const source = growingFile(path, { pollIntervalMs: 5 });
    const upload = await createUploadClient(server.url, { protocol: 'step' }).upload(source, { mimeType: 'text/plain' });
    await sleep(30);
    await upload.cancel('build aborted');
    expect(server.uploads[0]?.close).to.deep.equal({ code: 4000, reason: 'build aborted' });
    expect(server.statusOf(upload.reference.id).state).to.equal('FAILED');
    expect(await codeOf(upload.complete())).to.equal(ErrorCode.UPLOAD_ABORTED);
    await upload.cancel('again'); // no-op
  });

  it('fails the upload (close 4001) when the source errors', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.from('some data'));
    const upload = await createUploadClient(server.url, { protocol: 'step' }).upload(source, { filename: 'x.bin' });
    setTimeout(() => source.destroy(new Error('disk on fire')), 20);
    const error = (await upload.complete().catch((e: unknown) => e)) as SpoolError;
    expect(error?.code).to.equal(ErrorCode.UPLOAD_ABORTED);
    expect(error?.message).to.match(/disk on fire/);
    await server.uploads[0]?.closed;
    expect(server.uploads[0]?.close?.code).to.equal(4001);
    expect(server.statusOf(upload.reference.id).state).to.equal('FAILED');
  });

  it('maps a quota close (1008 QuotaExceededException) to QUOTA_EXCEEDED', async () => {
    await server.close();
    server = await FakeStepServer.start({ quotaBytes: 10 });
    const upload = await createUploadClient(server.url, { protocol: 'step' }).upload(Buffer.alloc(100), { filename: 'big.bin' });
    const error = (await upload.complete().catch((e: unknown) => e)) as SpoolError;
    expect(error.code).to.equal(ErrorCode.QUOTA_EXCEEDED);
    expect(error.details).to.include({ closeCode: 1008 });
  });

  it('maps a checksum close (1011) to CHECKSUM_MISMATCH', async () => {
    await server.close();
    server = await FakeStepServer.start({ rejectChecksum: true });
    const upload = await createUploadClient(server.url, { protocol: 'step' }).upload(Buffer.from('abc'), { filename: 'a.bin' });
    expect(await codeOf(upload.complete())).to.equal(ErrorCode.CHECKSUM_MISMATCH);
  });

  it('refuses before upload without a required context, and passes the context when given', async () => {
    await server.close();
    server = await FakeStepServer.start({ requireContext: true });
    expect(await codeOf(createUploadClient(server.url, { protocol: 'step' }).upload(Buffer.from('a'), { filename: 'a' }))).to.equal(
      ErrorCode.CONTEXT_REQUIRED,
    );
    const upload = await createUploadClient(server.url, { protocol: 'step', contextId: 'ctx 1' }).upload(Buffer.from('a'), {
      filename: 'a',
    });
    await upload.complete();
    expect(new URL(server.uploads[1]?.url ?? '').searchParams.get('streamingUploadContextId')).to.equal('ctx 1');
  });

  it('validates the request before connecting', async () => {
    expect(
      await codeOf(createUploadClient(server.url, { protocol: 'step' }).upload(Buffer.from('a'), { filename: 'a', mimeType: 'text' })),
    ).to.equal(ErrorCode.INVALID_METADATA);
    expect(
      await codeOf(createUploadClient(server.url, { protocol: 'step' }).upload(Buffer.from('a'), { filename: 'a', sourceCharset: 'nope' })),
    ).to.equal(ErrorCode.INVALID_METADATA);
    expect(server.uploads).to.have.length(0);
  });

  it('rejects with CONNECTION_CLOSED when the server cannot be reached', async () => {
    await server.close();
    expect(await codeOf(createUploadClient(server.url, { protocol: 'step' }).upload(Buffer.from('a'), { filename: 'a' }))).to.equal(
      ErrorCode.CONNECTION_CLOSED,
    );
    server = await FakeStepServer.start();
  });

  it('keeps memory bounded: stops pulling from the source while the server does not read', async () => {
    await server.close();
    server = await FakeStepServer.start({ stallUploads: true });
    let pulled = 0;
    async function* endless() {
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (;;) {
        pulled += chunk.length;
        yield chunk;
      }
    }
    const upload = await createUploadClient(server.url, { protocol: 'step', highWaterMark: 256 * 1024 }).upload(endless(), {
      filename: 'endless.bin',
    });
    await sleep(300);
    const stalledAt = pulled;
    await sleep(200);
    // Kernel socket buffers absorb a few MB on loopback; beyond that the client must wait.
    expect(pulled).to.equal(stalledAt);
    expect(pulled).to.be.below(32 * 1024 * 1024);
    console.log(
      `      source pulled while the server stalled: ${(pulled / 1048576).toFixed(1)} MiB (window 256 KiB + kernel socket buffers)`,
    );
    await upload.cancel('test over');
  });
});
