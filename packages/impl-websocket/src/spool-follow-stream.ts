import { Readable } from 'node:stream';
import {
  InvalidRangeError,
  ProtocolViolationError,
  type ResourceStatus,
  type SpoolError,
  toSpoolError,
  UploadFailedError,
} from '@spool/common';
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
 * visible, with no request round trip. Ends when the resource is COMPLETED and every
 * byte was delivered; errors with `UploadFailedError` after the bytes of a FAILED one;
 * errors with the connection's error if it ends for good first (a lost connection is
 * re-established underneath and the follow resumes at the next undelivered byte).
 *
 * Flow control: at most `maxBufferedBytes` wait for the consumer, then the socket is
 * paused — the server stops reading storage for this follower until it catches up.
 * The Readable's own buffer stays empty (highWaterMark 0), so an error is raised only
 * after the consumer has taken every byte before it.
 */
export class SpoolFollowStream extends Readable implements FollowSink {
  readonly #options: SpoolFollowStreamOptions;
  readonly #queue: Buffer[] = [];
  #queuedBytes = 0;
  #nextOffset: number;
  #connection: SpoolResourceConnection | undefined;
  #latest: ResourceStatus | undefined;
  #pendingError: SpoolError | undefined;
  #consumerWaiting = false;
  #paused = false;
  readonly #unsubscribers: Array<() => void> = [];

  constructor(connection: Promise<SpoolResourceConnection>, options: SpoolFollowStreamOptions) {
    super({ highWaterMark: 0 });
    this.#options = options;
    this.#nextOffset = options.start;
    connection.then(
      (conn) => {
        if (this.destroyed) {
          if (options.ownsConnection) void conn.close();
          return;
        }
        this.#connection = conn;
        this.#unsubscribers.push(
          conn.onStatus((status) => {
            this.#latest = status;
            this.#advance();
          }),
          conn.onClose((error) => {
            this.#pendingError ??= error;
            this.#advance();
          }),
        );
        conn.follow(this);
      },
      (error: unknown) => {
        this.#pendingError ??= toSpoolError(error);
        this.#advance();
      },
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
    if (this.destroyed || this.#pendingError) return;
    const end = offset + data.length;
    if (end <= this.#nextOffset) return; // already have it
    if (offset > this.#nextOffset) {
      this.#pendingError = new ProtocolViolationError(`The server pushed bytes from ${offset}; ${this.#nextOffset} was expected`, {
        offset,
        expected: this.#nextOffset,
      });
      this.#advance();
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
    this.#advance();
  }

  override _read(): void {
    this.#consumerWaiting = true;
    this.#advance();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const unsubscribe of this.#unsubscribers.splice(0)) unsubscribe();
    const conn = this.#connection;
    if (conn) {
      conn.unfollow(this);
      if (this.#paused) conn.resume();
      if (this.#options.ownsConnection) void conn.close();
    }
    this.#queue.length = 0;
    callback(error);
  }

  #advance(): void {
    if (this.destroyed || !this.#consumerWaiting) return;
    const chunk = this.#queue.shift();
    if (chunk) {
      this.#queuedBytes -= chunk.length;
      if (this.#paused && this.#queuedBytes <= this.#options.maxBufferedBytes / 2) {
        this.#paused = false;
        this.#connection?.resume();
      }
      this.#consumerWaiting = false;
      this.push(chunk);
      return;
    }
    const status = this.#latest;
    const terminal = status !== undefined && (status.state === 'COMPLETED' || status.state === 'FAILED');
    if (terminal && this.#nextOffset > status.size) {
      this.destroy(
        new InvalidRangeError(`Offset ${this.#nextOffset} is past the end of resource ${status.id} (${status.size} bytes)`, {
          offset: this.#nextOffset,
          size: status.size,
        }),
      );
      return;
    }
    if (terminal && this.#nextOffset === status.size) {
      this.#consumerWaiting = false;
      if (status.state === 'COMPLETED') {
        this.#finishConnection();
        this.push(null);
      } else {
        this.destroy(new UploadFailedError(status.id, status.error));
      }
      return;
    }
    if (this.#pendingError) this.destroy(this.#pendingError);
  }

  /** The follow is over: stop it and release a connection of its own. */
  #finishConnection(): void {
    for (const unsubscribe of this.#unsubscribers.splice(0)) unsubscribe();
    const conn = this.#connection;
    this.#connection = undefined;
    if (!conn) return;
    conn.unfollow(this);
    if (this.#options.ownsConnection) void conn.close();
  }
}
