import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { ErrorCode, SpoolError, UploadAbortedError } from '@spool/common';
import { expect } from 'chai';
import { pumpRequestBody, pumpStream } from './body-pump.js';

/** A sink that asks for a pause once `highWater` bytes are pending, until `drain()`. */
class FakeSink extends EventEmitter {
  readonly chunks: Buffer[] = [];
  pending = 0;
  constructor(private readonly highWater = Number.POSITIVE_INFINITY) {
    super();
  }
  write(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    this.pending += chunk.length;
    return this.pending < this.highWater;
  }
  drain(): void {
    this.pending = 0;
    this.emit('drain');
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

const tooLarge = () => new SpoolError(ErrorCode.MESSAGE_TOO_LARGE, 'too large');
const unlimited = {
  room: Number.POSITIVE_INFINITY,
  tooLarge,
  interrupted: (bytes: number) => new UploadAbortedError(`cut after ${bytes}`),
};
const tick = () => new Promise((r) => setImmediate(r));

describe('pumpStream', () => {
  it('copies everything and resolves with the byte count', async () => {
    const source = new PassThrough();
    const sink = new FakeSink();
    const pump = pumpStream(source, sink, unlimited);
    source.write('hello ');
    source.end('world');
    expect(await pump.done).to.equal(11);
    expect(sink.text).to.equal('hello world');
  });

  it('pauses the source while the sink wants to drain, and resumes it on drain', async () => {
    const source = new PassThrough();
    const sink = new FakeSink(4);
    const pump = pumpStream(source, sink, unlimited);
    source.write('12345');
    await tick();
    expect(source.isPaused()).to.equal(true);
    source.end('678');
    await tick();
    expect(sink.text).to.equal('12345');
    sink.drain();
    expect(await pump.done).to.equal(8);
    expect(sink.text).to.equal('12345678');
  });

  it('writes exactly the bytes that fit the room, then fails with tooLarge', async () => {
    const source = new PassThrough();
    const sink = new FakeSink();
    const pump = pumpStream(source, sink, { ...unlimited, room: 7 });
    source.write('abcd');
    source.write('efgh');
    const err = await pump.done.catch((e: unknown) => e);
    expect(err).to.be.instanceOf(SpoolError).with.property('code', ErrorCode.MESSAGE_TOO_LARGE);
    expect(sink.text).to.equal('abcdefg');
  });

  it('salvages what a source closed early had buffered, then fails with `interrupted`', async () => {
    const source = new PassThrough();
    source.write('buffered');
    source.destroy();
    await tick();
    const sink = new FakeSink();
    const err = await pumpStream(source, sink, unlimited).done.catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UploadAbortedError).with.property('message', 'cut after 8');
    expect(sink.text).to.equal('buffered');
  });

  it('on cancel, writes what is buffered behind a pause before failing', async () => {
    const source = new PassThrough();
    const sink = new FakeSink(2);
    const pump = pumpStream(source, sink, unlimited);
    source.write('ab');
    await tick();
    source.write('cd');
    await tick();
    expect(sink.text).to.equal('ab');
    pump.cancel(new SpoolError(ErrorCode.TIMEOUT, 'stop'));
    const err = await pump.done.catch((e: unknown) => e);
    expect(err).to.have.property('code', ErrorCode.TIMEOUT);
    expect(sink.text).to.equal('abcd');
  });

  it('fails with the sink error', async () => {
    const source = new PassThrough();
    const sink = new FakeSink();
    const pump = pumpStream(source, sink, unlimited);
    sink.emit('error', new SpoolError(ErrorCode.STORAGE_FAILURE, 'disk full'));
    const err = await pump.done.catch((e: unknown) => e);
    expect(err).to.have.property('code', ErrorCode.STORAGE_FAILURE);
  });
});

describe('pumpRequestBody', () => {
  /** A request stand-in: a stream with `complete`. */
  function fakeRequest(): PassThrough & { complete: boolean } {
    return Object.assign(new PassThrough(), { complete: false });
  }

  it('fails with TIMEOUT when the client sends nothing for the idle time, keeping what came', async () => {
    const req = fakeRequest();
    const sink = new FakeSink();
    const done = pumpRequestBody(req as unknown as IncomingMessage, sink, { ...unlimited, idleTimeoutMs: 30, deadlineMs: 0 }).done;
    req.write('early');
    const err = await done.catch((e: unknown) => e);
    expect(err).to.have.property('code', ErrorCode.TIMEOUT);
    expect((err as Error).message).to.match(/No request body bytes for 30 ms/);
    expect(sink.text).to.equal('early');
  });

  it('does not count our own back-pressure as the client being idle', async () => {
    const req = fakeRequest();
    const sink = new FakeSink(1);
    const done = pumpRequestBody(req as unknown as IncomingMessage, sink, { ...unlimited, idleTimeoutMs: 20, deadlineMs: 0 }).done;
    req.write('x');
    await new Promise((r) => setTimeout(r, 80)); // paused by the sink, several idle periods long
    sink.drain();
    req.complete = true;
    req.end();
    expect(await done).to.equal(1);
  });

  it('fails with TIMEOUT at the deadline even while bytes keep coming', async () => {
    const req = fakeRequest();
    const sink = new FakeSink();
    const done = pumpRequestBody(req as unknown as IncomingMessage, sink, { ...unlimited, idleTimeoutMs: 0, deadlineMs: 60 }).done;
    const feeder = setInterval(() => req.write('.'), 5);
    const err = await done.catch((e: unknown) => e);
    clearInterval(feeder);
    expect((err as Error).message).to.match(/deadline of 60 ms/);
  });

  it('fails with UPLOAD_ABORTED when the client goes away before the end', async () => {
    const req = fakeRequest();
    const sink = new FakeSink();
    const done = pumpRequestBody(req as unknown as IncomingMessage, sink, { ...unlimited, idleTimeoutMs: 0, deadlineMs: 0 }).done;
    req.write('some');
    await tick();
    req.destroy();
    const err = await done.catch((e: unknown) => e);
    expect(err).to.have.property('code', ErrorCode.UPLOAD_ABORTED);
    expect(sink.text).to.equal('some');
  });
});
