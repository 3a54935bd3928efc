import type { Readable } from 'node:stream';
import { StatusTracker } from '@spool/client-download';
import { ConnectionClosedError, ErrorCode, type ResourceStatus, type SpoolError, UploadFailedError } from '@spool/common';
import { expect } from 'chai';
import { SpoolFollowStream } from './spool-follow-stream.js';
import type { FollowSink, SpoolResourceConnection } from './spool-resource-connection.js';

/** What a SpoolFollowStream uses of its connection, with the calls it made recorded. */
class FakeConnection {
  readonly statuses = new StatusTracker();
  readonly calls: string[] = [];
  sink: FollowSink | undefined;

  onStatus(listener: (status: ResourceStatus) => void): () => void {
    return this.statuses.subscribe(listener);
  }
  onClose(listener: (error: SpoolError) => void): () => void {
    return this.statuses.onClose(listener);
  }
  follow(sink: FollowSink): void {
    this.sink = sink;
    this.calls.push(`follow ${sink.nextOffset}`);
  }
  unfollow(): void {
    this.calls.push('unfollow');
  }
  pause(): void {
    this.calls.push('pause');
  }
  resume(): void {
    this.calls.push('resume');
  }
  async close(): Promise<void> {
    this.calls.push('close');
  }
  status(state: ResourceStatus['state'], size: number): void {
    this.statuses.update({ id: 'r', state, size, lines: null });
  }
}

async function openStream(start: number, maxBufferedBytes: number, ownsConnection = false) {
  const connection = new FakeConnection();
  const stream = new SpoolFollowStream(Promise.resolve(connection as unknown as SpoolResourceConnection), {
    start,
    maxBufferedBytes,
    ownsConnection,
  });
  await Promise.resolve(); // the stream takes the connection a tick later
  return { connection, stream };
}

/** Everything `stream` delivers, then how it ended (error undefined: normally). */
async function drain(stream: Readable): Promise<{ data: string; error: unknown }> {
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const error = await new Promise((resolve) => {
    stream.once('end', () => resolve(undefined));
    stream.once('error', resolve);
  });
  return { data: chunks.join(''), error };
}

describe('SpoolFollowStream (on the shared PacedResourceStream core)', () => {
  it('follows from its start, takes every byte once across overlapping pushes, and ends on COMPLETED', async () => {
    const { connection, stream } = await openStream(2, 1024, true);
    expect(connection.calls).to.deep.equal(['follow 2']);
    connection.status('IN_PROGRESS', 4);
    stream.onData(0, Buffer.from('abcd')); // a reconnect may repeat bytes already delivered
    stream.onData(2, Buffer.from('cdef'));
    stream.onData(0, Buffer.from('ab'));
    expect(stream.nextOffset).to.equal(6);
    connection.status('COMPLETED', 6);
    expect(await drain(stream)).to.deep.equal({ data: 'cdef', error: undefined });
    expect(connection.calls).to.deep.equal(['follow 2', 'unfollow', 'close']);
  });

  it('pauses its socket past maxBufferedBytes and resumes it once the consumer took half', async () => {
    const { connection, stream } = await openStream(0, 10);
    connection.status('IN_PROGRESS', 0);
    for (let i = 0; i < 4; i++) stream.onData(i * 4, Buffer.from('wxyz'));
    expect([stream.bufferedBytes, connection.calls]).to.deep.equal([16, ['follow 0', 'pause']]);
    stream.read();
    stream.read();
    expect([stream.bufferedBytes, connection.calls]).to.deep.equal([8, ['follow 0', 'pause']]); // more than half still waits
    stream.read();
    expect([stream.bufferedBytes, connection.calls]).to.deep.equal([4, ['follow 0', 'pause', 'resume']]);
    stream.destroy();
  });

  it('fails after the bytes it has: on a gap in the pushed bytes, on FAILED, on a connection that ends', async () => {
    const gap = await openStream(0, 1024);
    gap.stream.onData(0, Buffer.from('ab'));
    gap.stream.onData(5, Buffer.from('f'));
    const gapped = await drain(gap.stream);
    expect([gapped.data, (gapped.error as SpoolError).code]).to.deep.equal(['ab', ErrorCode.PROTOCOL_VIOLATION]);

    const failed = await openStream(0, 1024);
    failed.stream.onData(0, Buffer.from('ab'));
    failed.connection.status('FAILED', 2);
    const failure = await drain(failed.stream);
    expect(failure.data).to.equal('ab');
    expect(failure.error).to.be.instanceOf(UploadFailedError);

    const lost = await openStream(0, 1024);
    lost.stream.onData(0, Buffer.from('ab'));
    lost.connection.statuses.close(new ConnectionClosedError('gave up reconnecting'));
    const ended = await drain(lost.stream);
    expect([ended.data, (ended.error as SpoolError).message]).to.deep.equal(['ab', 'gave up reconnecting']);
  });

  it('fails with the error of a connection that could not be opened', async () => {
    const stream = new SpoolFollowStream(Promise.reject(new ConnectionClosedError('refused')), {
      start: 0,
      maxBufferedBytes: 1024,
      ownsConnection: true,
    });
    expect(((await drain(stream)).error as SpoolError).message).to.equal('refused');
  });
});
