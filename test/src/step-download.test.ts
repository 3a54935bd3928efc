import { createHash } from 'node:crypto';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { startTestServer } from './helpers/server.js';
import { md5Hex, RawStepSocket, sendJavaStyleData, startRawUpload } from './helpers/step-raw-client.js';

interface StatusMessage {
  '@': 'StatusChanged';
  resourceStatus: { transferStatus: string; currentSize: number; numberOfLines: number | null };
}

const isStatus = (m: unknown): m is StatusMessage => (m as { '@'?: string })['@'] === 'StatusChanged';

/**
 * Follows a resource exactly like the Java download stream: on each status, request the
 * bytes between what it has and the announced size; stop at COMPLETED/FAILED.
 */
async function javaStyleFollow(
  uri: string,
  maxChunk = 8 * 1024 * 1024,
): Promise<{ md5: string; size: number; final: string; statuses: number }> {
  const socket = new RawStepSocket(uri);
  await socket.opened();
  const md5 = createHash('md5');
  let received = 0;
  let statusesSeen = 0;
  for (;;) {
    const statuses = socket.texts.filter(isStatus);
    const latest = statuses[statuses.length - 1];
    statusesSeen = statuses.length;
    if (latest && received < latest.resourceStatus.currentSize) {
      const end = Math.min(latest.resourceStatus.currentSize, received + maxChunk);
      const before = socket.binaries.length;
      socket.sendJson({ '@': 'RequestChunk', startOffset: received, endOffset: end });
      while (socket.binaries.length === before) await new Promise((r) => setTimeout(r, 1));
      const data = socket.binaries[before] as Buffer;
      expect(data.length).to.equal(end - received);
      md5.update(data);
      socket.binaries[before] = Buffer.alloc(0); // keep memory flat in long tests
      received = end;
      continue;
    }
    if (latest && ['COMPLETED', 'FAILED'].includes(latest.resourceStatus.transferStatus) && received >= latest.resourceStatus.currentSize) {
      socket.ws.close();
      return { md5: md5.digest('hex'), size: received, final: latest.resourceStatus.transferStatus, statuses: statusesSeen };
    }
    await socket.waitFor(() => socket.texts.filter(isStatus).length > statusesSeen, 20_000);
  }
}

describe('Step WebSocket download (wire compatibility)', () => {
  let server: SpoolServer;
  beforeEach(async () => {
    server = await startTestServer({ checkpointIntervalMs: 10 });
  });
  afterEach(async () => {
    await server.close();
  });

  it('sends the current status on connect, then each checkpoint, and answers chunk and line requests in order', async () => {
    const { socket: up, uri } = await startRawUpload(server.wsUrl);
    const down = new RawStepSocket(uri);
    expect(await down.text(1)).to.deep.equal({
      '@': 'StatusChanged',
      resourceStatus: { transferStatus: 'INITIATED', currentSize: 0, numberOfLines: 0 },
    });
    await up.fragment(Buffer.from('alpha\nbeta\ngam'), false);
    await down.waitFor((m) => isStatus(m) && m.resourceStatus.currentSize === 14);
    down.sendJson({ '@': 'RequestLines', startingLineIndex: 0, linesCount: 2 });
    down.sendJson({ '@': 'RequestChunk', startOffset: 6, endOffset: 14 });
    const lines = await down.waitFor((m) => m['@'] === 'Lines');
    expect(lines).to.deep.equal({ '@': 'Lines', lines: ['alpha\n', 'beta\n'] });
    while (down.binaries.length < 1) await new Promise((r) => setTimeout(r, 5));
    expect(down.binaries[0]?.toString()).to.equal('beta\ngam');
    await up.fragment(Buffer.from('ma'), true);
    up.sendJson({ '@': 'FinishUpload', checksum: md5Hex('alpha\nbeta\ngamma') });
    const done = await down.waitFor<StatusMessage>((m) => isStatus(m) && m.resourceStatus.transferStatus === 'COMPLETED');
    expect(done.resourceStatus).to.deep.equal({ transferStatus: 'COMPLETED', currentSize: 16, numberOfLines: 3 });
    down.sendJson({ '@': 'RequestLines', startingLineIndex: 2, linesCount: 1 });
    const last = await down.waitFor((m) => m['@'] === 'Lines' && (m.lines as string[])[0] === 'gamma');
    expect(last).to.deep.equal({ '@': 'Lines', lines: ['gamma'] });
  });

  it('trickled 500 kB upload, then a one-shot download of [0, size) as one message', async () => {
    const { socket: up, id, uri } = await startRawUpload(server.wsUrl, { mimeType: 'application/octet-stream', supportsLineAccess: false });
    const data = Buffer.alloc(500_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 251;
    const chunks: Buffer[] = [];
    for (let at = 0; at < data.length; at += 10_000) chunks.push(data.subarray(at, at + 10_000));
    const md5 = md5Hex(data);
    for (const c of chunks) {
      await up.fragment(c, false);
      await new Promise((r) => setTimeout(r, 2));
    }
    await up.fragment(Buffer.alloc(0), true);
    up.sendJson({ '@': 'FinishUpload', checksum: md5 });
    await up.text(2);
    const down = new RawStepSocket(uri);
    await down.waitFor((m) => isStatus(m) && m.resourceStatus.transferStatus === 'COMPLETED');
    down.sendJson({ '@': 'RequestChunk', startOffset: 0, endOffset: data.length });
    while (down.binaries.length < 1) await new Promise((r) => setTimeout(r, 5));
    expect(down.binaries).to.have.length(1);
    expect(md5Hex(down.binaries[0] as Buffer)).to.equal(md5);
    expect((await server.core.getStatus(id)).checksum).to.equal(md5);
  });

  it('a 64 MiB upload with a simultaneous follower: MD5 equal live and after', async function () {
    this.timeout(120_000);
    const { socket: up, uri } = await startRawUpload(server.wsUrl, { mimeType: 'application/octet-stream', supportsLineAccess: false });
    const follower = javaStyleFollow(uri, 4 * 1024 * 1024);
    const block = Buffer.alloc(1024 * 1024);
    const chunks = function* () {
      for (let i = 0; i < 64; i++) {
        block.fill(i);
        yield Buffer.from(block);
      }
    };
    const checksum = await sendJavaStyleData(up, chunks());
    up.sendJson({ '@': 'FinishUpload', checksum });
    expect(await up.text(2)).to.deep.include({ size: 64 * 1024 * 1024, checksum });
    const live = await follower;
    expect(live).to.include({ md5: checksum, size: 64 * 1024 * 1024, final: 'COMPLETED' });
    const after = await javaStyleFollow(uri, 64 * 1024 * 1024);
    expect(after).to.include({ md5: checksum, final: 'COMPLETED' });
  });

  it('line-by-line tailing of a growing log equals the file', async () => {
    const { socket: up, uri } = await startRawUpload(server.wsUrl);
    const down = new RawStepSocket(uri);
    const expected: string[] = [];
    const received: string[] = [];
    const writer = (async () => {
      for (let i = 0; i < 300; i++) {
        const line = `${new Date(0).toISOString()} step ${i} ${'·'.repeat(i % 17)}\n`;
        expected.push(line);
        await up.fragment(Buffer.from(line), false);
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 15));
      }
      await up.fragment(Buffer.alloc(0), true);
      up.sendJson({ '@': 'FinishUpload', checksum: md5Hex(expected.join('')) });
    })();
    let seenStatuses = 0;
    for (;;) {
      await down.waitFor(() => down.texts.filter(isStatus).length > seenStatuses);
      const statuses = down.texts.filter(isStatus);
      seenStatuses = statuses.length;
      const latest = (statuses[statuses.length - 1] as StatusMessage).resourceStatus;
      const available = latest.numberOfLines ?? 0;
      if (available > received.length) {
        const before = down.texts.filter((m) => (m as { '@': string })['@'] === 'Lines').length;
        down.sendJson({ '@': 'RequestLines', startingLineIndex: received.length, linesCount: available - received.length });
        await down.waitFor(() => down.texts.filter((m) => (m as { '@': string })['@'] === 'Lines').length > before);
        const page = down.texts.filter((m) => (m as { '@': string })['@'] === 'Lines')[before] as { lines: string[] };
        received.push(...page.lines);
      }
      if (latest.transferStatus === 'COMPLETED' && received.length >= available) break;
    }
    await writer;
    expect(received).to.deep.equal(expected);
  });

  it('never loses COMPLETED while replies are being sent (statuses coalesce, terminal kept)', async () => {
    for (let round = 0; round < 5; round++) {
      const { socket: up, uri } = await startRawUpload(server.wsUrl);
      const down = new RawStepSocket(uri);
      await down.text(1);
      await up.fragment(Buffer.alloc(200_000, 'x'), false);
      await down.waitFor((m) => isStatus(m) && m.resourceStatus.currentSize >= 100_000);
      // Keep the connection busy with replies while the upload completes.
      for (let i = 0; i < 50; i++) down.sendJson({ '@': 'RequestChunk', startOffset: 0, endOffset: 100_000 });
      await up.fragment(Buffer.alloc(0), true);
      up.sendJson({ '@': 'FinishUpload', checksum: md5Hex(Buffer.alloc(200_000, 'x')) });
      const done = await down.waitFor<StatusMessage>((m) => isStatus(m) && m.resourceStatus.transferStatus === 'COMPLETED');
      expect(done.resourceStatus.currentSize).to.equal(200_000);
      const sizes = down.texts.filter(isStatus).map((s) => s.resourceStatus.currentSize);
      expect(sizes).to.deep.equal([...sizes].sort((a, b) => a - b));
      while (down.binaries.length < 50) await new Promise((r) => setTimeout(r, 5));
      expect(down.binaries.every((b) => b.length === 100_000)).to.equal(true);
      down.ws.close();
    }
  });

  it('a follower of an upload that FAILED sees FAILED with the partial data readable', async () => {
    const { socket: up, uri } = await startRawUpload(server.wsUrl, { mimeType: 'application/octet-stream', supportsLineAccess: false });
    const follower = javaStyleFollow(uri);
    await up.fragment(Buffer.alloc(50_000, 'p'), false);
    await new Promise((r) => setTimeout(r, 50));
    up.ws.close(4000, 'producer crashed');
    const result = await follower;
    expect(result).to.include({ final: 'FAILED', size: 50_000, md5: md5Hex(Buffer.alloc(50_000, 'p')) });
  });
});

describe('Step WebSocket download: bad requests', () => {
  let server: SpoolServer;
  let id: string;
  let uri: string;
  let bystander: RawStepSocket;
  before(async () => {
    server = await startTestServer();
    const started = await startRawUpload(server.wsUrl);
    id = started.id;
    uri = started.uri;
    const checksum = await sendJavaStyleData(started.socket, [Buffer.from('one\ntwo\nthree\n')]);
    started.socket.sendJson({ '@': 'FinishUpload', checksum });
    await started.socket.text(2);
    bystander = new RawStepSocket(uri);
    await bystander.text(1);
  });
  after(async () => {
    // Every bad client above was closed alone: the bystander still gets answers.
    bystander.sendJson({ '@': 'RequestChunk', startOffset: 0, endOffset: 3 });
    while (bystander.binaries.length < 1) await new Promise((r) => setTimeout(r, 5));
    expect(bystander.binaries[0]?.toString()).to.equal('one');
    await server.close();
  });

  async function refused(message: unknown, path?: string) {
    const socket = new RawStepSocket(path ? `${server.wsUrl}${path}` : uri);
    await socket.opened();
    if (typeof message === 'string') socket.ws.send(message);
    else if (Buffer.isBuffer(message)) socket.ws.send(message);
    else if (message !== undefined) socket.sendJson(message);
    return socket.closed;
  }

  it('closes 1008 at once for an unknown resource id', async () => {
    expect(await refused(undefined, '/ws/streaming/download/no-such-resource')).to.deep.equal({
      code: 1008,
      reason: 'Unknown resource no-such-resource',
    });
  });

  for (const [label, startOffset, endOffset] of [
    ['past the checkpointed size', 0, 15],
    ['negative', -1, 3],
    ['reversed', 5, 2],
  ] as const) {
    it(`closes 1008 for a chunk range ${label}`, async () => {
      const closed = await refused({ '@': 'RequestChunk', startOffset, endOffset });
      expect(closed.code).to.equal(1008);
      expect(closed.reason).to.match(/^Range \[/);
    });
  }

  it('closes 1008 for lines out of range', async () => {
    const closed = await refused({ '@': 'RequestLines', startingLineIndex: 2, linesCount: 5 });
    expect(closed.code).to.equal(1008);
    expect(closed.reason).to.match(/^Lines \[2, 7\) are not within the 3 lines/);
  });

  it('closes 1008 for malformed JSON and for unknown message types', async () => {
    expect((await refused('not json')).code).to.equal(1008);
    const unknown = await refused({ '@': 'RequestEverything' });
    expect(unknown.code).to.equal(1008);
    expect(unknown.reason).to.match(/Unknown message type/);
  });

  it('closes 1008 for a request with fields of the wrong type', async () => {
    const closed = await refused({ '@': 'RequestChunk', startOffset: '0', endOffset: 3 });
    expect(closed.code).to.equal(1008);
    expect(closed.reason).to.match(/^Invalid RequestChunk/);
  });

  it('closes 1003 for binary data sent by a download client', async () => {
    expect((await refused(Buffer.from([1, 2, 3]))).code).to.equal(1003);
  });

  it('closes 1008 for line requests on a resource without line access', async () => {
    const started = await startRawUpload(server.wsUrl, { mimeType: 'application/octet-stream', supportsLineAccess: false });
    const socket = new RawStepSocket(started.uri);
    await socket.text(1);
    socket.sendJson({ '@': 'RequestLines', startingLineIndex: 0, linesCount: 0 });
    const closed = await socket.closed;
    expect(closed.code).to.equal(1008);
    expect(closed.reason).to.match(/not uploaded with line access/);
    started.socket.ws.close();
    expect(id).to.be.a('string');
  });
});
