import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectionClosedError, ErrorCode, type ResourceStatus, SpoolError, UploadFailedError } from '@spool/common';
import { expect } from 'chai';
import { RemoteResource } from './remote-resource.js';
import { FakeDownloadTransport } from './testing/fake-download-transport.js';

async function readAll(stream: Readable): Promise<{ data: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { data: Buffer.concat(chunks), error };
  }
}

function bytes(length: number, seed = 0): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) % 256));
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as SpoolError).code;
  }
  return undefined;
}

describe('RemoteResource', () => {
  describe('follow()', () => {
    it('delivers every byte as the resource grows and ends on COMPLETED', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport, { maxChunkBytes: 1000 });
      const expected: Buffer[] = [];
      const reading = readAll(resource.follow());
      for (let i = 0; i < 20; i++) {
        const piece = bytes(337 * (i % 5) + 1, i);
        expected.push(piece);
        transport.append(piece);
        await sleep(1);
      }
      transport.complete();
      const { data, error } = await reading;
      expect(error).to.equal(undefined);
      expect(data.equals(Buffer.concat(expected))).to.equal(true);
      for (const request of transport.requests) {
        if (request.kind === 'chunk') expect(request.end - request.start).to.be.at.most(1000);
      }
    });

    it('errors with UploadFailedError on FAILED, after delivering the bytes that exist', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport, { maxChunkBytes: 64 });
      const partial = bytes(1000);
      transport.append(partial.subarray(0, 500));
      const reading = readAll(resource.follow());
      await sleep(5);
      // The last bytes and FAILED arrive together: both must be honoured, in that order.
      transport.append(partial.subarray(500), false);
      transport.fail();
      const { data, error } = await reading;
      expect(error).to.be.instanceOf(UploadFailedError);
      expect((error as SpoolError).code).to.equal(ErrorCode.UPLOAD_FAILED);
      expect(data.equals(partial)).to.equal(true);
    });

    it('errors at once when following an already FAILED empty resource, and ends at once when COMPLETED', async () => {
      const failed = new FakeDownloadTransport();
      failed.fail();
      const fromFailed = await readAll((await RemoteResource.open(failed)).follow());
      expect(fromFailed.error).to.be.instanceOf(UploadFailedError);
      const completed = new FakeDownloadTransport();
      completed.complete();
      const fromCompleted = await readAll((await RemoteResource.open(completed)).follow());
      expect(fromCompleted.error).to.equal(undefined);
      expect(fromCompleted.data.length).to.equal(0);
    });

    it('honours back-pressure: requests at most readAheadChunks ahead of the consumer', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport, { maxChunkBytes: 100, readAheadChunks: 3 });
      transport.append(bytes(10_000));
      transport.complete();
      const stream = resource.follow();
      await sleep(30);
      expect(transport.requests.length).to.equal(3);
      const first = stream.read() as Buffer | null;
      expect(first?.length).to.equal(100);
      await sleep(30);
      expect(transport.requests.length).to.equal(4);
      const { data } = await readAll(stream);
      expect(data.length).to.equal(9_900);
      expect(transport.requests.length).to.equal(100);
    });

    it('keeps several requests outstanding and delivers their replies in order', async () => {
      const transport = new FakeDownloadTransport();
      const data = bytes(1_050, 7);
      transport.append(data);
      transport.complete();
      const resource = await RemoteResource.open(transport, { maxChunkBytes: 100, readAheadChunks: 4 });
      const { data: received, error } = await readAll(resource.follow());
      expect(error).to.equal(undefined);
      expect(received.equals(data)).to.equal(true);
      const chunks = transport.requests.filter((r) => r.kind === 'chunk');
      expect(chunks.map((r) => r.start)).to.deep.equal(Array.from({ length: 11 }, (_, i) => i * 100));
      expect(() => new RemoteResource(transport, { readAheadChunks: 0 })).to.throw(RangeError);
    });

    it('a failed request ends the stream after the bytes before it, dropping later replies', async () => {
      const transport = new FakeDownloadTransport();
      const data = bytes(1_000, 3);
      transport.append(data);
      const resource = await RemoteResource.open(transport, { maxChunkBytes: 100, readAheadChunks: 4 });
      const original = transport.requestChunk.bind(transport);
      transport.requestChunk = (start, end) =>
        start === 200 ? Promise.reject(new ConnectionClosedError('lost while reading')) : original(start, end);
      const { data: received, error } = await readAll(resource.follow());
      expect(error).to.be.instanceOf(ConnectionClosedError);
      expect(received.equals(data.subarray(0, 200))).to.equal(true);
    });

    it('starts at fromOffset', async () => {
      const transport = new FakeDownloadTransport();
      transport.append('0123456789');
      transport.complete();
      const resource = await RemoteResource.open(transport);
      expect((await readAll(resource.follow({ fromOffset: 4 }))).data.toString()).to.equal('456789');
      expect((await readAll(resource.follow({ fromOffset: 11 }))).error).to.have.property('code', ErrorCode.INVALID_RANGE);
      expect(() => resource.follow({ fromOffset: -1 })).to.throw(SpoolError);
    });

    it('errors with the close error if the connection is lost before the end, after the bytes received', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport);
      transport.append('partial');
      const reading = readAll(resource.follow());
      await sleep(10);
      transport.disconnect();
      const { data, error } = await reading;
      expect(error).to.be.instanceOf(ConnectionClosedError);
      expect(data.toString()).to.equal('partial');
    });

    it('still ends normally if the connection drops after COMPLETED', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport);
      transport.append('all');
      transport.complete();
      const stream = resource.follow();
      await sleep(10);
      transport.disconnect();
      const { data, error } = await readAll(stream);
      expect(error).to.equal(undefined);
      expect(data.toString()).to.equal('all');
    });

    it('ends open followers with ConnectionClosedError on close()', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport);
      const reading = readAll(resource.follow());
      await resource.close();
      expect((await reading).error).to.be.instanceOf(ConnectionClosedError);
    });
  });

  describe('followLines()', () => {
    it('yields complete lines across chunk and UTF-8 boundaries, then the unterminated last line', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport, { maxChunkBytes: 3 });
      const text = 'first\nsécond line\r\n\nüber 😀\nlast';
      transport.append(text);
      transport.complete();
      const lines: string[] = [];
      for await (const line of resource.followLines()) lines.push(line);
      // One rule for lines everywhere: the text without its terminator (\n or \r\n).
      expect(lines).to.deep.equal(['first', 'sécond line', '', 'über 😀', 'last']);
    });

    it('yields the partial last line, then throws UploadFailedError', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport);
      transport.append('a\nb');
      transport.fail();
      const lines: string[] = [];
      const error = await (async () => {
        for await (const line of resource.followLines()) lines.push(line);
      })().catch((e: unknown) => e);
      expect(lines).to.deep.equal(['a', 'b']);
      expect(error).to.be.instanceOf(UploadFailedError);
    });

    it("starts at the last N lines (tail -n N -f), counting as HTTP tail=N does: a growing resource's partial line is not one", async () => {
      const follow = async (text: string, tail: number, end: 'complete' | 'fail' | 'grow', maxChunkBytes = 5) => {
        const transport = new FakeDownloadTransport();
        const resource = await RemoteResource.open(transport, { maxChunkBytes });
        transport.append(text);
        if (end === 'complete') transport.complete();
        const lines: string[] = [];
        const following = (async () => {
          for await (const line of resource.followLines({ tail })) lines.push(line);
        })();
        if (end === 'grow') {
          // What comes later is followed too; then it ends.
          await new Promise((resolve) => setTimeout(resolve, 20));
          transport.append('later\n');
          transport.complete();
        }
        await following;
        return lines;
      };
      const text = 'l0\nl1\nl2\nl3\n';
      expect(await follow(text, 2, 'complete')).to.deep.equal(['l2', 'l3']);
      expect(await follow(text, 0, 'complete')).to.deep.equal([]);
      expect(await follow(text, 10, 'complete')).to.deep.equal(['l0', 'l1', 'l2', 'l3']);
      // A terminal resource's last unterminated line is a line.
      expect(await follow(`${text}l4`, 2, 'complete')).to.deep.equal(['l3', 'l4']);
      expect(await follow(`${text}l4`, 0, 'complete')).to.deep.equal([]);
      // A growing one's is not yet: the last 2 whole lines, then the partial one as it ends.
      expect(await follow(`${text}par`, 2, 'grow')).to.deep.equal(['l2', 'l3', 'parlater']);
      expect(await follow(`${text}`, 1, 'grow', 1)).to.deep.equal(['l3', 'later']);
      // Long lines: the backward reads double until they find them.
      const long = `${'x'.repeat(300_000)}\n${'y'.repeat(70_000)}\nz\n`;
      expect((await follow(long, 2, 'complete', 1 << 20)).map((line) => line.length)).to.deep.equal([70_000, 1]);
    });

    it('refuses tail without line access, and with fromOffset', async () => {
      const resource = await RemoteResource.open(new FakeDownloadTransport({ lineAccess: false }));
      expect(await codeOf(resource.followLines({ tail: 1 }).next())).to.equal(ErrorCode.LINE_ACCESS_UNSUPPORTED);
      const lines = await RemoteResource.open(new FakeDownloadTransport());
      expect(await codeOf(lines.followLines({ tail: 1, fromOffset: 0 }).next())).to.equal(ErrorCode.INVALID_RANGE);
    });

    it('stops when its signal aborts', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport);
      transport.append('a\n');
      const controller = new AbortController();
      const seen: string[] = [];
      const error = await (async () => {
        for await (const line of resource.followLines({ signal: controller.signal })) {
          seen.push(line);
          controller.abort();
        }
      })().catch((e: unknown) => e);
      expect(seen).to.deep.equal(['a']);
      expect((error as Error).name).to.equal('AbortError');
    });
  });

  describe('readRange() and createReadStream()', () => {
    it('reads ranges in chunks of at most maxChunkBytes', async () => {
      const transport = new FakeDownloadTransport();
      const content = bytes(2500);
      transport.append(content);
      const resource = await RemoteResource.open(transport, { maxChunkBytes: 1000 });
      expect((await resource.readRange(100, 2300)).equals(content.subarray(100, 2300))).to.equal(true);
      expect(transport.requests.map((r) => (r.kind === 'chunk' ? r.end - r.start : -1))).to.deep.equal([1000, 1000, 200]);
      expect((await resource.readRange(5, 5)).length).to.equal(0);
      const streamed = await readAll(resource.createReadStream({ start: 10 }));
      expect(streamed.data.equals(content.subarray(10))).to.equal(true);
    });

    it('rejects invalid ranges and ranges past the visible size with INVALID_RANGE', async () => {
      const transport = new FakeDownloadTransport();
      transport.append('0123456789');
      transport.append('not yet visible', false);
      const resource = await RemoteResource.open(transport);
      expect(await codeOf(resource.readRange(0, 11))).to.equal(ErrorCode.INVALID_RANGE);
      expect(await codeOf(resource.readRange(5, 4))).to.equal(ErrorCode.INVALID_RANGE);
      expect(await codeOf(resource.readRange(-1, 4))).to.equal(ErrorCode.INVALID_RANGE);
      expect(await codeOf(resource.readRange(0.5, 4))).to.equal(ErrorCode.INVALID_RANGE);
      expect(() => resource.createReadStream({ end: 11 })).to.throw(SpoolError);
    });
  });

  describe('readLines()', () => {
    it('pages lines (indexes from 0, no terminators), returns fewer when fewer are visible, none past the end', async () => {
      const transport = new FakeDownloadTransport();
      const lines = Array.from({ length: 25 }, (_, i) => `line ${i}`);
      transport.append(lines.map((line) => `${line}\n`).join(''));
      const resource = await RemoteResource.open(transport, { maxLinesPerRequest: 10 });
      expect(await resource.readLines(0, 25)).to.deep.equal(lines);
      expect(transport.requests).to.deep.equal([
        { kind: 'lines', start: 0, count: 10 },
        { kind: 'lines', start: 10, count: 10 },
        { kind: 'lines', start: 20, count: 5 },
      ]);
      expect(await resource.readLines(20, 100)).to.deep.equal(lines.slice(20));
      // One rule whatever the resource's length: a page past the end is empty, not an error.
      expect(await resource.readLines(25, 1)).to.deep.equal([]);
      expect(await resource.readLines(100, 51)).to.deep.equal([]);
      expect(await codeOf(resource.readLines(-1, 1))).to.equal(ErrorCode.LINES_OUT_OF_RANGE);
      expect(await resource.readLines({ tail: 3 })).to.deep.equal(lines.slice(22));
      expect(await resource.readLines({ tail: 100 })).to.deep.equal(lines);
      expect(await codeOf(resource.readLines({ tail: -1 }))).to.equal(ErrorCode.LINES_OUT_OF_RANGE);
    });

    it('rejects with LINE_ACCESS_UNSUPPORTED without line access', async () => {
      const resource = await RemoteResource.open(new FakeDownloadTransport({ lineAccess: false }));
      expect(await codeOf(resource.readLines(0, 1))).to.equal(ErrorCode.LINE_ACCESS_UNSUPPORTED);
    });
  });

  describe('status', () => {
    it('replays the latest status to new listeners and ignores statuses that go backwards', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport);
      transport.append('abc');
      const seen: ResourceStatus[] = [];
      const unsubscribe = resource.onStatus((status) => seen.push(status));
      expect(seen.map((s) => s.size)).to.deep.equal([3]);
      transport.publish({ size: 1 });
      transport.append('d');
      unsubscribe();
      transport.append('e');
      expect(seen.map((s) => s.size)).to.deep.equal([3, 4]);
      expect(resource.status.size).to.equal(5);
    });

    it('waitForStatus resolves, times out, or rejects when the resource ends without matching', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport);
      const bigEnough = resource.waitForStatus((s) => s.size >= 5);
      transport.append('12');
      transport.append('345');
      expect((await bigEnough).size).to.equal(5);
      expect(await codeOf(resource.waitForStatus((s) => s.size > 100, { timeoutMs: 10 }))).to.equal(ErrorCode.TIMEOUT);
      const aborted = new AbortController();
      const abandoned = resource.waitForStatus(() => false, { signal: aborted.signal });
      aborted.abort(new Error('bye'));
      expect(await abandoned.catch((e: Error) => e.message)).to.equal('bye');
      const never = resource.waitForStatus((s) => s.size > 100);
      transport.complete();
      expect(await codeOf(never)).to.equal(ErrorCode.RESOURCE_TERMINAL);
      expect((await resource.waitForTerminal()).state).to.equal('COMPLETED');
    });

    it('open() rejects with the close error, or times out', async () => {
      const silent = new FakeDownloadTransport({ publishInitial: false });
      expect(await codeOf(RemoteResource.open(silent, { timeoutMs: 10 }))).to.equal(ErrorCode.TIMEOUT);
      const closing = new FakeDownloadTransport({ publishInitial: false });
      const opening = RemoteResource.open(closing);
      closing.disconnect(new SpoolError(ErrorCode.RESOURCE_NOT_FOUND, 'Unknown resource x'));
      expect(await codeOf(opening)).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    });
  });

  describe('downloadTo()', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'spool-download-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('follows to the end into a file and reports size and MD5', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport, { maxChunkBytes: 4096 });
      const content = bytes(100_000);
      const path = join(dir, 'out.bin');
      const downloading = resource.downloadTo(path);
      for (let at = 0; at < content.length; at += 7_000) {
        transport.append(content.subarray(at, at + 7_000));
        await sleep(1);
      }
      transport.complete();
      const summary = await downloading;
      expect(summary).to.deep.equal({ size: content.length, md5: createHash('md5').update(content).digest('hex') });
      expect((await readFile(path)).equals(content)).to.equal(true);
    });

    it('keeps the partial data and rejects with UploadFailedError on FAILED', async () => {
      const transport = new FakeDownloadTransport();
      const resource = await RemoteResource.open(transport);
      transport.append('partial');
      transport.fail();
      const path = join(dir, 'partial.bin');
      expect(await codeOf(resource.downloadTo(path))).to.equal(ErrorCode.UPLOAD_FAILED);
      expect((await readFile(path)).toString()).to.equal('partial');
    });
  });
});
