/**
 * Push-follow flow control: a follower that never reads (its socket paused) neither
 * blocks the uploader nor another follower, and the server does not buffer for it —
 * it just stops reading storage for that follower, and serves it from storage once it
 * reads again.
 */
import { createHash } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createDownloadClient, createUploadClient, type SpoolFollowStream } from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import WebSocket from 'ws';
import { digestStream, GeneratedSource, MIB } from './helpers/generated-source.js';
import { startTestServer } from './helpers/server.js';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/**
 * Live JS memory (heap + buffers) after full collections: what is really retained.
 * Buffers' memory is swept after a collection, concurrently: collect, wait, repeat.
 */
async function retainedBytes(): Promise<number> {
  for (let round = 0; round < 3; round++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** A raw follower that checks the push framing and hashes what it gets. */
class RawFollower {
  readonly ws: WebSocket;
  readonly hash = createHash('sha256');
  received = 0;
  completed = false;
  private announced: { offset: number; length: number } | undefined;
  readonly problems: string[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url, { maxPayload: 0 });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const announced = this.announced;
        this.announced = undefined;
        if (announced?.offset !== this.received || announced.length !== data.length) {
          this.problems.push(`binary of ${data.length} at ${this.received} announced as ${JSON.stringify(announced)}`);
        }
        this.hash.update(data);
        this.received += data.length;
        return;
      }
      const message = JSON.parse(data.toString()) as { type: string; state?: string; offset: number; length: number };
      if (message.type === 'data') this.announced = message;
      if (message.type === 'status' && message.state === 'COMPLETED') this.completed = true;
    });
    this.ws.on('error', () => undefined);
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
}

describe('Spool protocol: flow control of followers', function () {
  this.timeout(90_000);
  let server: SpoolServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('a stalled follower does not block the uploader or another follower, and the server does not buffer for it', async () => {
    const size = 160 * MIB;
    const source = new GeneratedSource(size, 3);
    const baseline = await retainedBytes();
    const upload = await createUploadClient(server.url, { verifyMd5: false, maxUnacknowledgedBytes: 16 * MIB }).upload(source, {
      filename: 'pushed.bin',
    });

    const stalled = new RawFollower(`${server.wsUrl}/ws/spool/v1/resources/${upload.reference.id}`);
    await stalled.opened();
    stalled.ws.send(JSON.stringify({ type: 'follow', from: 0 }));
    stalled.ws.pause(); // never reads: the server's writes to it stop draining

    const other = await createDownloadClient().open(upload.reference);
    const otherFollowing = digestStream(other.follow());
    const result = await upload.complete();
    expect(result.size).to.equal(size);
    expect(await otherFollowing).to.deep.equal({ sha256: source.sha256, size });
    await other.close();

    // 160 MB went past the stalled follower; it got (almost) none of it, and nothing holds it for it.
    expect(stalled.received).to.be.lessThan(16 * MIB);
    const growth = (await retainedBytes()) - baseline;
    expect(growth, `retained memory grew by ${Math.round(growth / MIB)} MiB`).to.be.lessThan(48 * MIB);

    // Once it reads again, it is served from storage: every byte, in order, then COMPLETED.
    stalled.ws.resume();
    const deadline = Date.now() + 60_000;
    while (!stalled.completed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(stalled.problems).to.deep.equal([]);
    expect(stalled.completed).to.equal(true);
    expect(stalled.received).to.equal(size);
    expect(stalled.hash.digest('hex')).to.equal(source.sha256);
    stalled.ws.close();
  });

  it('followers at the tail, pushed from shared frames, each get every byte once, in order, with one stalled among them', async () => {
    const lines = Array.from({ length: 200 }, (_, i) => Buffer.from(`line ${String(i).padStart(5, '0')} ${'x'.repeat(i % 50)}\n`));
    const expected = createHash('sha256').update(Buffer.concat(lines)).digest('hex');
    const upload = await createUploadClient(server.url, { verifyMd5: false }).upload(
      (async function* () {
        for (const line of lines) {
          yield line;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })(),
      { filename: 'tail.log' },
    );
    const url = `${server.wsUrl}/ws/spool/v1/resources/${upload.reference.id}`;
    const followers = Array.from({ length: 20 }, () => new RawFollower(url));
    await Promise.all(followers.map((f) => f.opened()));
    for (const f of followers) f.ws.send(JSON.stringify({ type: 'follow', from: 0 }));
    const stalled = followers[7] as RawFollower;
    stalled.ws.pause();
    const result = await upload.complete();
    const deadline = Date.now() + 30_000;
    const others = followers.filter((f) => f !== stalled);
    while (others.some((f) => !f.completed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stalled.ws.resume();
    while (!stalled.completed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const f of followers) {
      expect(f.problems).to.deep.equal([]);
      expect(f.completed).to.equal(true);
      expect(f.received).to.equal(result.size);
      expect(f.hash.digest('hex')).to.equal(expected);
      f.ws.close();
    }
  });

  it('an SDK follower whose consumer does not read pauses its socket and then delivers every byte exactly once', async () => {
    const size = 40 * MIB;
    const source = new GeneratedSource(size, 8);
    const upload = await createUploadClient(server.url, { verifyMd5: false }).upload(source, { filename: 'slow.bin' });
    const resource = await createDownloadClient({ followBufferBytes: 1 * MIB }).open(upload.reference);
    const stream = resource.follow() as SpoolFollowStream;
    await upload.complete();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Nothing was read: the follower holds its buffer and what arrived after the pause, not the 40 MiB.
    expect(stream.bufferedBytes).to.be.within(1, 4 * MIB);
    expect(await digestStream(stream)).to.deep.equal({ sha256: source.sha256, size });
    await resource.close();
  });
});
