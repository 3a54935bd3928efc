import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ConnectionClosedError, ErrorCode, type SpoolError, UploadFailedError } from '@spool/common';
import { expect } from 'chai';
import { PacedResourceStream, type StatusSource } from './paced-resource-stream.js';
import { FakeDownloadTransport } from './testing/fake-download-transport.js';

/** The smallest stream on the shared core: the test hands it chunks, as a server push would. */
class HandFedStream extends PacedResourceStream {
  readonly #queue: Buffer[] = [];
  #reached: number;
  released = false;
  ended = false;

  constructor(start: number, end: number | undefined, source: StatusSource) {
    super(end);
    this.#reached = start;
    this.listen(source);
  }

  feed(chunk: Buffer): void {
    this.#queue.push(chunk);
    this.#reached += chunk.length;
    this.advance();
  }

  failWith(error: SpoolError): void {
    this.fail(error);
  }

  protected override nextChunk(): Buffer | undefined {
    return this.#queue.shift();
  }

  protected override get reachedOffset(): number {
    return this.#reached;
  }

  protected override release(): void {
    this.released = true;
  }

  protected override onEnd(): void {
    this.ended = true;
  }
}

/** What a consumer gets from `stream`: its bytes, then how it ended. */
function consume(stream: Readable): Promise<{ data: string; error: unknown }> {
  let data = '';
  stream.on('data', (chunk: Buffer) => {
    data += chunk.toString();
  });
  return finished(stream).then(
    () => ({ data, error: undefined }),
    (error: unknown) => ({ data, error }),
  );
}

/** A follower of a resource holding `content`, fed all of it; then `then` changes the resource or its connection. */
function fedFollower(content: string, then: (transport: FakeDownloadTransport) => void): Promise<{ data: string; error: unknown }> {
  const transport = new FakeDownloadTransport();
  transport.append(content);
  const follower = new HandFedStream(0, undefined, transport);
  follower.feed(Buffer.from(content));
  then(transport);
  return consume(follower);
}

describe('PacedResourceStream', () => {
  it('holds nothing in the Readable buffer: a chunk is taken only when the consumer asks', () => {
    const stream = new HandFedStream(0, 6, new FakeDownloadTransport());
    stream.feed(Buffer.from('abc'));
    stream.feed(Buffer.from('def'));
    expect([stream.readableLength, stream.bytesDelivered]).to.deep.equal([0, 0]);
    expect(String(stream.read())).to.equal('abc');
    expect([stream.readableLength, stream.bytesDelivered]).to.deep.equal([0, 3]);
  });

  it('ends a range at its end, even before the resource is terminal', async () => {
    const stream = new HandFedStream(10, 16, new FakeDownloadTransport());
    const reading = consume(stream);
    stream.feed(Buffer.from('abc'));
    stream.feed(Buffer.from('def'));
    const { data, error } = await reading;
    expect([data, error, stream.ended]).to.deep.equal(['abcdef', undefined, true]);
  });

  it('raises an error only after the consumer took every byte before it', async () => {
    const stream = new HandFedStream(0, 100, new FakeDownloadTransport());
    stream.feed(Buffer.from('one'));
    stream.feed(Buffer.from('two'));
    stream.failWith(new ConnectionClosedError('lost'));
    stream.failWith(new ConnectionClosedError('later errors do not replace the first'));
    const { data, error } = await consume(stream);
    expect(data).to.equal('onetwo');
    expect((error as SpoolError).message).to.equal('lost');
    expect(stream.released).to.equal(true);
  });

  it('ends a follower on COMPLETED once it reached the final size, and fails it after the bytes of a FAILED resource', async () => {
    const completed = new FakeDownloadTransport();
    completed.append('abcd');
    const following = new HandFedStream(0, undefined, completed);
    const reading = consume(following);
    following.feed(Buffer.from('ab'));
    completed.complete(); // not yet reached: the follower waits for the rest
    following.feed(Buffer.from('cd'));
    expect(await reading).to.deep.equal({ data: 'abcd', error: undefined });

    const failed = await fedFollower('xy', (transport) => transport.fail());
    expect(failed.data).to.equal('xy');
    expect(failed.error).to.be.instanceOf(UploadFailedError);
  });

  it('ends a fully read COMPLETED follower normally though its connection ended; refuses an offset past the end', async () => {
    const completed = await fedFollower('abc', (transport) => {
      transport.complete();
      transport.disconnect();
    });
    expect(completed).to.deep.equal({ data: 'abc', error: undefined });
    const transport = new FakeDownloadTransport();
    transport.complete();
    const pastEnd = await consume(new HandFedStream(5, undefined, transport));
    expect((pastEnd.error as SpoolError).code).to.equal(ErrorCode.INVALID_RANGE);
  });

  it('a follower of a resource still in progress fails with the connection error once it has the bytes', async () => {
    const lost = await fedFollower('abc', (transport) => transport.disconnect());
    expect(lost.data).to.equal('abc');
    expect(lost.error).to.be.instanceOf(ConnectionClosedError);
  });
});
