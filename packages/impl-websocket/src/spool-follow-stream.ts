import { PacedResourceStream } from '@spool/client-download';
import { ProtocolViolationError, toSpoolError } from '@spool/common';
import type { FollowSink, SpoolResourceConnection } from './spool-resource-connection.js';

export interface SpoolFollowStreamOptions {
  /** First byte to deliver. */
  start: number;
  /** Bytes received but not yet taken by the consumer before the socket is paused. */
  maxBufferedBytes: number;
  /** Close the connection when the stream ends (a connection opened for this stream alone). */
  ownsConnection: boolean;
}

/**
 * A follower fed by the server's push (`follow`): bytes arrive as the resource becomes
 * visible, with no request round trip. It ends as every follower does (see
 * {@link PacedResourceStream}); a lost connection is re-established underneath and the
 * follow resumes at the next undelivered byte.
 *
 * Flow control: at most `maxBufferedBytes` wait for the consumer, then the socket is
 * paused — the server stops reading storage for this follower until it catches up.
 */
export class SpoolFollowStream extends PacedResourceStream implements FollowSink {
  readonly #options: SpoolFollowStreamOptions;
  readonly #queue: Buffer[] = [];
  #queuedBytes = 0;
  #nextOffset: number;
  #connection: SpoolResourceConnection | undefined;
  #paused = false;

  constructor(connection: Promise<SpoolResourceConnection>, options: SpoolFollowStreamOptions) {
    super(undefined);
    this.#options = options;
    this.#nextOffset = options.start;
    connection.then(
      (conn) => {
        if (this.destroyed) {
          if (options.ownsConnection) void conn.close();
          return;
        }
        this.#connection = conn;
        this.listen(conn);
        conn.follow(this);
      },
      (error: unknown) => this.fail(toSpoolError(error)),
    );
  }

  /** Offset of the next byte wanted from the server (delivered + waiting for the consumer). */
  get nextOffset(): number {
    return this.#nextOffset;
  }

  /** Bytes received and waiting for the consumer (bounded by `maxBufferedBytes` plus one message). */
  get bufferedBytes(): number {
    return this.#queuedBytes;
  }

  onData(offset: number, data: Buffer): void {
    if (this.destroyed || this.pendingError) return;
    const end = offset + data.length;
    if (end <= this.#nextOffset) return; // already have it
    if (offset > this.#nextOffset) {
      const expected = this.#nextOffset;
      this.fail(new ProtocolViolationError(`The server pushed bytes from ${offset}; ${expected} was expected`, { offset, expected }));
      return;
    }
    const fresh = data.subarray(this.#nextOffset - offset);
    this.#queue.push(fresh);
    this.#queuedBytes += fresh.length;
    this.#nextOffset = end;
    if (!this.#paused && this.#queuedBytes > this.#options.maxBufferedBytes) {
      this.#paused = true;
      this.#connection?.pause();
    }
    this.advance();
  }

  protected override nextChunk(): Buffer | undefined {
    const chunk = this.#queue.shift();
    if (!chunk) return undefined;
    this.#queuedBytes -= chunk.length;
    if (this.#paused && this.#queuedBytes <= this.#options.maxBufferedBytes / 2) {
      this.#paused = false;
      this.#connection?.resume();
    }
    return chunk;
  }

  protected override get reachedOffset(): number {
    return this.#nextOffset;
  }

  /** The follow is over: stop it and release a connection of its own. */
  protected override onEnd(): void {
    this.stopListening();
    const conn = this.#connection;
    this.#connection = undefined;
    if (!conn) return;
    conn.unfollow(this);
    if (this.#options.ownsConnection) void conn.close();
  }

  protected override release(): void {
    const conn = this.#connection;
    if (conn) {
      conn.unfollow(this);
      if (this.#paused) conn.resume();
      if (this.#options.ownsConnection) void conn.close();
    }
    this.#queue.length = 0;
  }
}
