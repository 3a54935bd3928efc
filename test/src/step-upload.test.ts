import path from 'node:path';
import { ErrorCode, type SpoolError } from '@spool/common';
import type { SpoolServer } from '@spool/server';
import { FileByteStore, SqliteCatalog } from '@spool/server';
import { FullDisk } from '@spool/server/testing';
import { expect } from 'chai';
import { freshDataDir, startTestServer } from './helpers/server.js';
import { md5Hex, RawStepSocket, sendJavaStyleData, startRawUpload } from './helpers/step-raw-client.js';

async function readAll(server: SpoolServer, id: string): Promise<Buffer> {
  const status = await server.core.getStatus(id);
  const parts: Buffer[] = [];
  for await (const p of (await server.core.openRange(id, 0, status.size)) as AsyncIterable<Buffer>) parts.push(p);
  return Buffer.concat(parts);
}

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Step WebSocket upload (wire compatibility)', () => {
  let server: SpoolServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('accepts the Java client frame pattern: 64-byte first frame, larger frames, empty FIN; acks with both line-count spellings', async () => {
    const { socket, id, uri } = await startRawUpload(server.wsUrl);
    expect(uri).to.equal(`${server.wsUrl}/ws/streaming/download/${id}`);
    const text = Buffer.from(Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}\n`).join(''));
    const chunks = [text.subarray(0, 64)];
    for (let at = 64; at < text.length; at += 8192) chunks.push(text.subarray(at, at + 8192));
    const checksum = await sendJavaStyleData(socket, chunks);
    socket.sendJson({ '@': 'FinishUpload', checksum });
    const ack = await socket.text(2);
    expect(ack).to.deep.equal({ '@': 'UploadAcknowledged', size: text.length, checksum, numberOfLines: 2000, numberOflines: 2000 });
    socket.ws.close(1000, 'Upload completed');
    expect(await socket.closed).to.deep.include({ code: 1000 });
    expect(await server.core.getStatus(id)).to.include({ state: 'COMPLETED', size: text.length, lines: 2000 });
    expect(md5Hex(await readAll(server, id))).to.equal(checksum);
  });

  it('announces that it hashes, and acknowledges an empty FinishUpload checksum with its own MD5', async () => {
    const socket = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload`);
    const announced = new Promise<string | string[] | undefined>((resolve) =>
      socket.ws.once('upgrade', (response) => resolve(response.headers['spool-server-checksum'])),
    );
    await socket.opened();
    expect(await announced).to.equal('md5');
    socket.sendJson({ '@': 'StartUpload', metadata: { filename: 'fast.log', mimeType: 'text/plain', supportsLineAccess: true } });
    await socket.text(1);
    const checksum = await sendJavaStyleData(socket, [Buffer.from('one\ntwo\n')]);
    socket.sendJson({ '@': 'FinishUpload', checksum: '' });
    expect(await socket.text(2)).to.deep.include({ size: 8, checksum, numberOfLines: 2 });
  });

  it('acknowledges a zero-byte upload (no binary message at all) with size 0 and 0 lines', async () => {
    const { socket, id } = await startRawUpload(server.wsUrl);
    socket.sendJson({ '@': 'FinishUpload', checksum: md5Hex('') });
    expect(await socket.text(2)).to.deep.include({ size: 0, numberOfLines: 0, numberOflines: 0 });
    socket.ws.close(1000, 'Upload completed');
    expect(await server.core.getStatus(id)).to.include({ state: 'COMPLETED', size: 0, lines: 0 });
  });

  it('reports null lines for a resource without line access', async () => {
    const { socket, id } = await startRawUpload(server.wsUrl, { mimeType: 'application/octet-stream', supportsLineAccess: false });
    const checksum = await sendJavaStyleData(socket, [Buffer.from('a\nb\n')]);
    socket.sendJson({ '@': 'FinishUpload', checksum });
    expect(await socket.text(2)).to.deep.include({ size: 4, numberOfLines: null, numberOflines: null });
    expect((await server.core.getStatus(id)).lines).to.equal(null);
  });

  it('keeps a COMPLETED resource COMPLETED when the client closes oddly after the ack', async () => {
    const { socket, id } = await startRawUpload(server.wsUrl);
    const checksum = await sendJavaStyleData(socket, [Buffer.from('done\n')]);
    socket.sendJson({ '@': 'FinishUpload', checksum });
    await socket.text(2);
    socket.ws.close(4321, 'something odd');
    await socket.closed;
    expect(await server.core.getStatus(id)).to.include({ state: 'COMPLETED' });
  });

  it('declines permessage-deflate so data frames arrive uncompressed', async () => {
    const socket = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload`, { perMessageDeflate: true });
    await socket.opened();
    expect(socket.ws.extensions).to.equal('');
    socket.sendJson({ '@': 'StartUpload', metadata: { filename: 'z.txt', mimeType: 'text/plain', supportsLineAccess: true } });
    await socket.text(1);
    const checksum = await sendJavaStyleData(socket, [Buffer.alloc(100_000, 'a')]);
    socket.sendJson({ '@': 'FinishUpload', checksum });
    expect(await socket.text(2)).to.deep.include({ size: 100_000, checksum });
  });

  it('builds references from the configured public URL', async () => {
    const proxied = await startTestServer({ publicUrl: 'https://logs.example.com/spool/' });
    try {
      const { uri, id } = await startRawUpload(proxied.wsUrl);
      expect(uri).to.equal(`wss://logs.example.com/spool/ws/streaming/download/${id}`);
    } finally {
      await proxied.close();
    }
  });

  it('groups uploads by streamingUploadContextId', async () => {
    const { id } = await startRawUpload(server.wsUrl, { query: '?streamingUploadContextId=build-42' });
    expect((await server.core.getRecord(id)).contextId).to.equal('build-42');
    expect((await server.core.list({ contextId: 'build-42' })).map((r) => r.id)).to.deep.equal([id]);
  });
});

describe('Step WebSocket upload: bad input and faults', () => {
  let server: SpoolServer;
  let healthy: { socket: RawStepSocket; id: string };
  beforeEach(async () => {
    server = await startTestServer({ maxResourceBytes: 1_000_000 });
    // A healthy upload runs beside every bad one and must finish unharmed.
    const started = await startRawUpload(server.wsUrl);
    await started.socket.fragment(Buffer.from('healthy start\n'), false);
    healthy = started;
  });
  afterEach(async () => {
    await healthy.socket.fragment(Buffer.from('healthy end\n'), true);
    healthy.socket.sendJson({ '@': 'FinishUpload', checksum: md5Hex('healthy start\nhealthy end\n') });
    expect(await healthy.socket.text(2)).to.deep.include({ size: 26, numberOfLines: 2 });
    await server.close();
  });

  const closeOf = async (socket: RawStepSocket) => socket.closed;

  it('closes 1008 on malformed JSON', async () => {
    const socket = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload`);
    await socket.opened();
    socket.ws.send('{"@": "StartUpload", ');
    const closed = await closeOf(socket);
    expect(closed.code).to.equal(1008);
    expect(closed.reason).to.match(/^Malformed JSON/);
  });

  it('closes 1008 on an unknown message type', async () => {
    const socket = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload`);
    await socket.opened();
    socket.sendJson({ '@': 'Hello' });
    const closed = await closeOf(socket);
    expect(closed.code).to.equal(1008);
    expect(closed.reason).to.match(/Unknown message type "Hello"/);
  });

  it('closes 1002 on binary data before StartUpload', async () => {
    const socket = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload`);
    await socket.opened();
    socket.ws.send(Buffer.from('data'));
    expect(await closeOf(socket)).to.deep.equal({ code: 1002, reason: 'Binary data before StartUpload' });
  });

  for (const [label, metadata] of [
    ['an empty filename', { filename: '', mimeType: 'text/plain', supportsLineAccess: true }],
    ['a bad mime type', { filename: 'a.txt', mimeType: 'not a mime', supportsLineAccess: true }],
    ['a missing supportsLineAccess', { filename: 'a.txt', mimeType: 'text/plain' }],
  ] as const) {
    it(`closes 1008 on invalid metadata: ${label}`, async () => {
      const socket = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload`);
      await socket.opened();
      socket.sendJson({ '@': 'StartUpload', metadata });
      const closed = await closeOf(socket);
      expect(closed.code).to.equal(1008);
      expect(closed.reason).to.match(/Invalid/);
    });
  }

  it('closes 1011 on a checksum mismatch and marks the resource FAILED with its data', async () => {
    const { socket, id } = await startRawUpload(server.wsUrl);
    await sendJavaStyleData(socket, [Buffer.from('abc\n')]);
    socket.sendJson({ '@': 'FinishUpload', checksum: md5Hex('something else') });
    const closed = await closeOf(socket);
    expect(closed.code).to.equal(1011);
    expect(closed.reason).to.match(/^Checksum mismatch/);
    expect(await server.core.getStatus(id)).to.include({ state: 'FAILED', size: 4 });
    expect((await readAll(server, id)).toString()).to.equal('abc\n');
  });

  for (const checksum of ['NaN', '/x']) {
    it(`closes 1008 naming a FinishUpload checksum that is no MD5 (${checksum}), and the resource is FAILED with its data`, async () => {
      const { socket, id } = await startRawUpload(server.wsUrl);
      await sendJavaStyleData(socket, [Buffer.from('abc\n')]);
      socket.sendJson({ '@': 'FinishUpload', checksum });
      expect(await closeOf(socket)).to.deep.equal({
        code: 1008,
        reason: `Invalid FinishUpload: checksum: must be an MD5 (32 hex digits) or empty, not ${JSON.stringify(checksum)}`,
      });
      // Step cannot resume: the upload is over, with its bytes readable.
      expect(await server.core.getStatus(id)).to.include({ state: 'FAILED', size: 4 });
      expect((await readAll(server, id)).toString()).to.equal('abc\n');
    });
  }

  it('closes 1008 "QuotaExceededException: ..." past the size limit, keeping what was accepted', async () => {
    const { socket, id } = await startRawUpload(server.wsUrl);
    await socket.fragment(Buffer.alloc(600_000, 'a'), false);
    await socket.fragment(Buffer.alloc(600_000, 'b'), false).catch(() => undefined);
    const closed = await closeOf(socket);
    expect(closed.code).to.equal(1008);
    expect(closed.reason).to.match(/^QuotaExceededException: /);
    const status = await eventually(
      () => server.core.getStatus(id),
      (s) => s.state === 'FAILED',
    );
    expect(status.state).to.equal('FAILED');
    expect(status.size).to.be.at.most(1_000_000);
  });

  it('marks the resource FAILED at once when the client vanishes mid-upload (no close frame)', async () => {
    const { socket, id } = await startRawUpload(server.wsUrl);
    await socket.fragment(Buffer.from('partial line\npart'), false);
    await eventually(
      () => server.core.getStatus(id),
      (s) => s.size === 17,
    );
    socket.ws.terminate();
    const status = await eventually(
      () => server.core.getStatus(id),
      (s) => s.state === 'FAILED',
      5000,
    );
    expect(status).to.include({ state: 'FAILED', size: 17, lines: 2 });
    expect((await readAll(server, id)).toString()).to.equal('partial line\npart');
  });

  it('marks the resource FAILED on a close before the ack, whatever its code', async () => {
    const { socket, id } = await startRawUpload(server.wsUrl);
    await socket.fragment(Buffer.from('abc'), false);
    socket.ws.close(1000, 'Upload completed');
    await socket.closed;
    const status = await eventually(
      () => server.core.getStatus(id),
      (s) => s.state === 'FAILED',
    );
    expect(status).to.include({ state: 'FAILED', size: 3 });
  });

  it('closes 1002 on a second StartUpload', async () => {
    const { socket } = await startRawUpload(server.wsUrl);
    socket.sendJson({ '@': 'StartUpload', metadata: { filename: 'b', mimeType: 'text/plain', supportsLineAccess: true } });
    expect(await closeOf(socket)).to.deep.equal({ code: 1002, reason: 'StartUpload sent twice' });
  });

  it('closes 1009 on an oversized control message', async () => {
    const socket = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload`);
    await socket.opened();
    socket.ws.send('x'.repeat(2 * 1024 * 1024));
    expect((await closeOf(socket)).code).to.equal(1009);
  });

  it('answers an unknown WebSocket path with HTTP 404 and a JSON error', async () => {
    const socket = new RawStepSocket(`${server.wsUrl}/ws/nothing-here`);
    const status = await new Promise<number>((resolve) =>
      socket.ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).to.equal(404);
  });
});

describe('Step WebSocket upload: configuration-dependent refusals', () => {
  it('closes 1008 "Missing parameter streamingUploadContextId" when a context is required', async () => {
    const server = await startTestServer({ requireUploadContext: true });
    try {
      const socket = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload`);
      expect(await socket.closed).to.deep.equal({ code: 1008, reason: 'Missing parameter streamingUploadContextId' });
      const { id } = await startRawUpload(server.wsUrl, { query: '?streamingUploadContextId=ctx' });
      expect(id).to.be.a('string');
    } finally {
      await server.close();
    }
  });

  it('closes 1011 with a reason when the disk fails, and the resource is FAILED with what was written', async () => {
    const dataDir = freshDataDir();
    // Room for the first 6 bytes and 4 of the next 7.
    const disk = new FullDisk(new FileByteStore(dataDir), new SqliteCatalog(path.join(dataDir, 'catalog.sqlite')), 10);
    const server = await startTestServer({ dataDir }, { deps: { store: disk.store, catalog: disk.catalog } });
    try {
      const { socket, id } = await startRawUpload(server.wsUrl);
      await socket.fragment(Buffer.from('first\n'), false);
      await eventually(
        () => server.core.getStatus(id),
        (s) => s.size === 6,
      );
      await socket.fragment(Buffer.from('second\n'), false).catch(() => undefined);
      const closed = await socket.closed;
      expect(closed.code).to.equal(1011);
      expect(closed.reason).to.match(/ENOSPC/);
      expect(await server.core.getStatus(id)).to.include({ state: 'FAILED', size: 6 });
      const err = (await server.core.readLines(id, 1, 1).catch((e: unknown) => e)) as SpoolError;
      expect(err.code).to.equal(ErrorCode.LINES_OUT_OF_RANGE);
    } finally {
      await server.close();
    }
  });
});
