import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionClosedError, ErrorCode, ResourceNotFoundError, type SpoolError, UploadFailedError } from '@spool/common';
import { expect } from 'chai';
import { createDownloadClient, createUploadClient } from './factories.js';
import { StepDownloadClient } from './step-download-client.js';
import { FakeStepServer } from './testing/fake-step-server.js';

async function readAll(stream: Readable): Promise<{ data: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { data: Buffer.concat(chunks), error };
  }
}

describe('StepDownloadClient (against a fake Step server)', () => {
  let server: FakeStepServer;
  beforeEach(async () => {
    server = await FakeStepServer.start();
  });
  afterEach(async () => {
    await server.close();
  });

  it('rejects open() of an unknown resource with ResourceNotFoundError', async () => {
    const error = await createDownloadClient({ protocol: 'step' })
      .open(`${server.url}/ws/streaming/download/nope`)
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ResourceNotFoundError);
    expect((error as SpoolError).details).to.deep.equal({ id: 'nope' });
  });

  it('rejects a URI that is no resource URI with INVALID_METADATA', async () => {
    const error = await createDownloadClient({ protocol: 'step' })
      .open(`${server.url}/elsewhere`)
      .catch((e: unknown) => e);
    expect((error as SpoolError).code).to.equal(ErrorCode.INVALID_METADATA);
  });

  it('follows a growing resource to COMPLETED', async () => {
    server.createResource('live');
    const resource = await new StepDownloadClient({ maxChunkBytes: 1000 }).open({
      uri: `${server.url.replace('ws:', 'http:')}/ws/streaming/download/live`,
    });
    expect(resource.id).to.equal('live');
    expect(resource.status).to.deep.equal({ id: 'live', state: 'INITIATED', size: 0, lines: 0 });
    const reading = readAll(resource.follow());
    const pieces: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      const piece = Buffer.alloc(i * 97 + 1, i);
      pieces.push(piece);
      server.append('live', piece);
      if (i % 5 === 0) await sleep(2);
    }
    server.setState('live', 'COMPLETED');
    const { data, error } = await reading;
    expect(error).to.equal(undefined);
    expect(data.equals(Buffer.concat(pieces))).to.equal(true);
    await resource.close();
  });

  it('errors a follower with UploadFailedError on FAILED, after the partial data', async () => {
    server.createResource('doomed');
    server.append('doomed', 'partial data');
    const resource = await createDownloadClient({ protocol: 'step' }).open(`${server.url}/ws/streaming/download/doomed`);
    const reading = readAll(resource.follow());
    await sleep(10);
    server.append('doomed', ' and more');
    server.setState('doomed', 'FAILED');
    const { data, error } = await reading;
    expect(error).to.be.instanceOf(UploadFailedError);
    expect(data.toString()).to.equal('partial data and more');
    await resource.close();
  });

  it('errors a follower with ConnectionClosedError when the connection is lost', async () => {
    server.createResource('dropped');
    server.append('dropped', 'abc');
    const resource = await createDownloadClient({ protocol: 'step' }).open(`${server.url}/ws/streaming/download/dropped`);
    const reading = readAll(resource.follow());
    await sleep(20);
    server.dropFollowers('dropped');
    const { data, error } = await reading;
    expect(error).to.be.instanceOf(ConnectionClosedError);
    expect((error as SpoolError).details).to.include({ closeCode: 1006 });
    expect(data.toString()).to.equal('abc');
  });

  it('detects a hung server with the heartbeat and errors the follower', async () => {
    server.createResource('hung');
    server.append('hung', 'abc');
    const resource = await createDownloadClient({ protocol: 'step', keepAliveIntervalMs: 50 }).open(
      `${server.url}/ws/streaming/download/hung`,
    );
    const reading = readAll(resource.follow());
    await sleep(20);
    server.stallFollowers('hung');
    const { data, error } = await reading;
    expect(error).to.be.instanceOf(ConnectionClosedError);
    expect((error as SpoolError).message).to.match(/no sign of life/);
    expect(data.toString()).to.equal('abc');
  });

  it('matches pipelined chunk and line requests to their replies in order', async () => {
    server.createResource('text');
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}: ${'é'.repeat(i % 7)}\n`);
    server.append('text', lines.join(''));
    const resource = await createDownloadClient({ protocol: 'step', maxLinesPerRequest: 7, maxChunkBytes: 100 }).open(
      `${server.url}/ws/streaming/download/text`,
    );
    const all = Buffer.from(lines.join(''));
    const [range, page, head, rest] = await Promise.all([
      resource.readRange(10, 500),
      resource.readLines(3, 20),
      resource.readRange(0, 10),
      resource.readLines(40, 100),
    ]);
    expect(range.equals(all.subarray(10, 500))).to.equal(true);
    // The wire keeps each line's \n; the SDK gives lines without it.
    const text = (slice: string[]) => slice.map((line) => line.slice(0, -1));
    expect(page).to.deep.equal(text(lines.slice(3, 23)));
    expect(head.equals(all.subarray(0, 10))).to.equal(true);
    expect(rest).to.deep.equal(text(lines.slice(40)));
    const md5 = createHash('md5')
      .update((await readAll(resource.createReadStream())).data)
      .digest('hex');
    expect(md5).to.equal(createHash('md5').update(all).digest('hex'));
    await resource.close();
    expect(await resource.readRange(0, 1).catch((e: SpoolError) => e.code)).to.equal(ErrorCode.CONNECTION_CLOSED);
  });

  it('follows an upload live, end to end through the fake server', async () => {
    const upload = await createUploadClient(server.url, { protocol: 'step' }).upload(Buffer.from('x\n'.repeat(1000)), {
      filename: 'x.txt',
      mimeType: 'text/plain',
    });
    const resource = await createDownloadClient({ protocol: 'step' }).open(upload.reference);
    const following = readAll(resource.follow());
    const result = await upload.complete();
    const { data } = await following;
    expect(createHash('md5').update(data).digest('hex')).to.equal(result.checksum);
    expect(resource.status).to.include({ state: 'COMPLETED', size: 2000, lines: 1000 });
    await resource.close();
  });
});
