import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionClosedError,
  createDownloadClient,
  createUploadClient,
  ErrorCode,
  growingFile,
  ResourceNotFoundError,
  type SpoolError,
  UploadFailedError,
  webSocketMaskingInfo,
} from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { startTestServer } from './helpers/server.js';

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

async function readAll(stream: Readable): Promise<{ data: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { data: Buffer.concat(chunks), error };
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as SpoolError).code;
  }
  return undefined;
}

/** Deterministic pseudo-random bytes (incompressible enough, reproducible). */
function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('SDK (Step WebSocket) against the real server', () => {
  let server: SpoolServer;
  let dir: string;
  before(() => {
    console.log(`      ws masking: ${JSON.stringify(webSocketMaskingInfo())}`);
  });
  beforeEach(async () => {
    // MD5 besides the default CRC-32: these tests compare the SDK's result with MD5s of their own.
    server = await startTestServer({ uploadChecksums: 'crc32,md5' });
    dir = await mkdtemp(path.join(tmpdir(), 'spool-sdk-e2e-'));
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('trickled 500 kB upload, then a one-shot download is equal', async () => {
    const content = pseudoRandomBytes(500 * 1024, 1);
    async function* trickle() {
      for (let at = 0; at < content.length; at += 5 * 1024) {
        yield content.subarray(at, at + 5 * 1024);
        if (at % (50 * 1024) === 0) await sleep(2);
      }
    }
    const upload = await createUploadClient(server.url).upload(trickle(), { filename: 'trickle.bin' });
    const result = await upload.complete();
    expect(result).to.include({ size: content.length, checksum: md5(content), lines: null });

    const resource = await createDownloadClient().open(upload.reference);
    expect(resource.status).to.include({ state: 'COMPLETED', size: content.length, lines: null });
    expect((await resource.readRange(0, content.length)).equals(content)).to.equal(true);
    expect((await readAll(resource.createReadStream({ start: 1000, end: 400_000 }))).data.equals(content.subarray(1000, 400_000))).to.equal(
      true,
    );
    await resource.close();
  });

  it('follows a live 24 MB upload; the follower MD5 equals the upload checksum', async () => {
    const piece = pseudoRandomBytes(1024 * 1024, 7);
    async function* produce() {
      for (let i = 0; i < 24; i++) {
        piece[0] = i; // Vary each MiB so misplaced chunks would show.
        yield Buffer.from(piece);
        if (i % 4 === 0) await sleep(5);
      }
    }
    const upload = await createUploadClient(server.wsUrl).upload(produce(), { filename: 'big.bin' });
    const followerClient = createDownloadClient({ maxChunkBytes: 1024 * 1024 });
    const resource = await followerClient.open(upload.reference);
    const toFile = await followerClient.open(upload.reference);
    const following = readAll(resource.follow());
    const downloading = toFile.downloadTo(path.join(dir, 'big.copy'));
    const result = await upload.complete();
    const { data, error } = await following;
    expect(error).to.equal(undefined);
    expect(result.size).to.equal(24 * 1024 * 1024);
    expect(data.length).to.equal(result.size);
    expect(md5(data)).to.equal(result.checksum);
    expect(await downloading).to.deep.equal({ size: result.size, md5: result.checksum });
    await resource.close();
    await toFile.close();
  });

  it('uploads a growing file while a follower tails its lines', async () => {
    const file = path.join(dir, 'build.log');
    const upload = await createUploadClient(server.url).upload(growingFile(file, { pollIntervalMs: 10 }), { mimeType: 'text/plain' });
    expect(upload.reference.uri).to.match(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/streaming\/download\//);
    const resource = await createDownloadClient().open(upload.reference);
    const tailed: string[] = [];
    const tailing = (async () => {
      for await (const line of resource.followLines()) tailed.push(line);
    })();
    // The file appears after the upload started, then grows for a while.
    const written: string[] = [];
    for (let i = 0; i < 300; i++) {
      const line = `[${i}] compiling module ${i} ${'.'.repeat(i % 50)}\n`;
      written.push(line);
      await appendFile(file, line);
      if (i % 30 === 0) await sleep(15);
    }
    await resource.waitForStatus((s) => s.size > 0, { timeoutMs: 5_000 });
    const result = await upload.complete();
    await tailing;
    expect(result.lines).to.equal(300);
    expect(result.checksum).to.equal(md5(await readFile(file)));
    // Lines come without their terminator.
    expect(tailed).to.deep.equal(written.map((line) => line.slice(0, -1)));
    expect(resource.status).to.include({ state: 'COMPLETED', lines: 300 });
    await resource.close();
  });

  it('transcodes ISO-8859-1 to UTF-8 on the fly, with line counts', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => `Zeile ${i}: Grüße, café, ½ ${String.fromCharCode(0x80 + (i % 0x80))}\n`);
    const file = path.join(dir, 'latin1.txt');
    await writeFile(file, Buffer.from(lines.join(''), 'latin1'));
    const upload = await createUploadClient(server.url, { frameSize: 1000 }).upload(file, {
      mimeType: 'text/plain',
      sourceCharset: 'ISO-8859-1',
    });
    const result = await upload.complete();
    const utf8 = Buffer.from(lines.join(''), 'utf8');
    expect(result).to.include({ size: utf8.length, checksum: md5(utf8), lines: 200 });
    const resource = await createDownloadClient().open(upload.reference);
    expect((await resource.readRange(0, resource.status.size)).equals(utf8)).to.equal(true);
    expect(await resource.readLines(0, 200)).to.deep.equal(lines.map((line) => line.slice(0, -1)));
    await resource.close();
  });

  it('cancel → the resource is FAILED; a follower gets UploadFailedError after the partial data', async () => {
    const file = path.join(dir, 'aborted.log');
    const partial = Buffer.from(Array.from({ length: 1000 }, (_, i) => `partial line ${i}\n`).join(''));
    await writeFile(file, partial);
    const upload = await createUploadClient(server.url).upload(growingFile(file, { pollIntervalMs: 10 }), { mimeType: 'text/plain' });
    const resource = await createDownloadClient().open(upload.reference);
    const following = readAll(resource.follow());
    await resource.waitForStatus((s) => s.size === partial.length, { timeoutMs: 5_000 });
    await upload.cancel('build aborted');
    const { data, error } = await following;
    expect(error).to.be.instanceOf(UploadFailedError);
    expect(data.equals(partial)).to.equal(true);
    expect(resource.status.state).to.equal('FAILED');
    expect(await codeOf(upload.complete())).to.equal(ErrorCode.UPLOAD_ABORTED);
    // FAILED keeps its bytes readable.
    const later = await createDownloadClient().open(upload.reference);
    expect((await later.readRange(0, later.status.size)).equals(partial)).to.equal(true);
    await resource.close();
    await later.close();
  });

  it('zero-byte upload → COMPLETED, size 0, 0 lines', async () => {
    const upload = await createUploadClient(server.url).upload(Buffer.alloc(0), { filename: 'empty.txt', mimeType: 'text/plain' });
    const result = await upload.complete();
    expect(result).to.include({ size: 0, checksum: 'd41d8cd98f00b204e9800998ecf8427e', lines: 0 });
    const resource = await createDownloadClient().open(upload.reference);
    expect(resource.status).to.include({ state: 'COMPLETED', size: 0, lines: 0 });
    const { data, error } = await readAll(resource.follow());
    expect(error).to.equal(undefined);
    expect(data.length).to.equal(0);
    expect(await resource.readLines(0, 10)).to.deep.equal([]);
    await resource.close();
  });

  it('readLines pagination equals the file lines', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `${i}\t${'é'.repeat(i % 13)}\r\n`);
    lines.push('last line without newline');
    const upload = await createUploadClient(server.url).upload(Buffer.from(lines.join('')), {
      filename: 'lines.txt',
      mimeType: 'text/plain',
    });
    expect((await upload.complete()).lines).to.equal(5001);
    const resource = await createDownloadClient({ maxLinesPerRequest: 333 }).open(upload.reference);
    const paged: string[] = [];
    for (let start = 0; start < 5001; start += 1000) paged.push(...(await resource.readLines(start, 1000)));
    // Without terminators, \r\n as \n (as HTTP's JSON pages).
    const text = lines.map((line) => line.replace(/\r\n$/, ''));
    expect(paged).to.deep.equal(text);
    expect(await resource.readLines(4990, 100)).to.deep.equal(text.slice(4990));
    // Past the end: an empty page, whatever the resource's length; a negative start is an error.
    expect(await resource.readLines(5002, 1)).to.deep.equal([]);
    expect(await codeOf(resource.readLines(-1, 1))).to.equal(ErrorCode.LINES_OUT_OF_RANGE);
    expect(await codeOf(resource.readRange(0, resource.status.size + 1))).to.equal(ErrorCode.INVALID_RANGE);
    await resource.close();
  });

  it('open() of an unknown resource rejects with ResourceNotFoundError', async () => {
    const error = await createDownloadClient()
      .open(`${server.wsUrl}/ws/streaming/download/does-not-exist`)
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ResourceNotFoundError);
  });

  it('a server shutdown ends a follower with ConnectionClosedError (1001)', async () => {
    const upload = await createUploadClient(server.url).upload(growingFile(path.join(dir, 'never.log'), { pollIntervalMs: 10 }), {
      mimeType: 'text/plain',
    });
    const resource = await createDownloadClient().open(upload.reference);
    const following = readAll(resource.follow());
    await sleep(50);
    await server.close();
    const { error } = await following;
    expect(error).to.be.instanceOf(ConnectionClosedError);
    expect((error as SpoolError).details).to.include({ closeCode: 1001 });
    expect(await codeOf(upload.complete())).to.be.oneOf([ErrorCode.CONNECTION_CLOSED, ErrorCode.SHUTTING_DOWN]);
    server = await startTestServer();
  });
});

describe('SDK (Step WebSocket) against a restricted server', () => {
  let server: SpoolServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('maps a quota close to QUOTA_EXCEEDED', async () => {
    server = await startTestServer({ maxResourceBytes: 1000 });
    const upload = await createUploadClient(server.url).upload(Buffer.alloc(100_000, 1), { filename: 'big.bin' });
    const error = (await upload.complete().catch((e: unknown) => e)) as SpoolError;
    expect(error.code).to.equal(ErrorCode.QUOTA_EXCEEDED);
    expect(error.details).to.include({ closeCode: 1008 });
  });

  it('requires the upload context when configured, and accepts it when given', async () => {
    server = await startTestServer({ requireUploadContext: true });
    expect(await codeOf(createUploadClient(server.url).upload(Buffer.from('a'), { filename: 'a.txt' }))).to.equal(
      ErrorCode.CONTEXT_REQUIRED,
    );
    const upload = await createUploadClient(server.url, { contextId: 'job-42' }).upload(Buffer.from('a'), { filename: 'a.txt' });
    expect((await upload.complete()).size).to.equal(1);
  });
});
