import { Readable } from 'node:stream';
import { InvalidRangeError, type ResourceStatus, type SpoolError, UploadFailedError } from '@spool/common';
import type { DownloadTransport } from './transport.js';

/** What a {@link PacedResourceStream} listens to: the resource's statuses and the end of its connection. */
export type StatusSource = Pick<DownloadTransport, 'onStatus' | 'onClose'>;

/**
 * What every byte stream over a remote resource shares, whether its bytes are fetched by
 * request or pushed by the server: it hands a chunk over only when the consumer asks for
 * one, and it ends the way the resource does. A range ends at its end; a follower ends
 * once the resource is COMPLETED and every byte was delivered, errors with
 * {@link UploadFailedError} after the bytes of a FAILED one, and with the connection's
 * error if that ends first.
 *
 * The Readable's own buffer stays empty (highWaterMark 0): that is what lets an error be
 * raised only after the consumer has taken every byte before it — destroying a Readable
 * drops buffered data.
 */
export abstract class PacedResourceStream extends Readable {
  readonly #end: number | undefined;
  #latest: ResourceStatus | undefined;
  /** The error to raise once the consumer has taken everything delivered before it. */
  #pendingError: SpoolError | undefined;
  /** _read() was called and nothing was pushed since. */
  #consumerWaiting = false;
  #bytesDelivered = 0;
  readonly #unsubscribers: Array<() => void> = [];

  /** `end`: the end of a range (exclusive), or undefined to follow the resource until it is terminal. */
  protected constructor(end: number | undefined) {
    super({ highWaterMark: 0 });
    this.#end = end;
  }

  /** Bytes handed to the consumer so far. */
  get bytesDelivered(): number {
    return this.#bytesDelivered;
  }

  /** The next chunk for the consumer, 'pending' while it is on its way, undefined when nothing is held or on its way. */
  protected abstract nextChunk(): Buffer | 'pending' | undefined;

  /** Offset after every byte delivered, held or on its way: where the stream stands once they are taken. */
  protected abstract get reachedOffset(): number;

  /** Frees what the stream holds; called once, when it is destroyed. */
  protected abstract release(): void;

  /** Asks for more bytes where there is room; called after every step. */
  protected fetchMore(): void {}

  /** Called once every byte was delivered, just before the stream ends normally. */
  protected onEnd(): void {}

  /** The latest status of a follower's resource. */
  protected get latestStatus(): ResourceStatus | undefined {
    return this.#latest;
  }

  protected get pendingError(): SpoolError | undefined {
    return this.#pendingError;
  }

  /** Listens to `source` until the stream ends: its statuses (a follower's only) and the end of its connection. */
  protected listen(source: StatusSource): void {
    if (this.#end === undefined) {
      this.#unsubscribers.push(
        source.onStatus((status) => {
          this.#latest = status;
          this.advance();
        }),
      );
    }
    this.#unsubscribers.push(source.onClose((error) => this.fail(error)));
  }

  protected stopListening(): void {
    for (const unsubscribe of this.#unsubscribers.splice(0)) unsubscribe();
  }

  /** Raises `error` (the first one wins) once the consumer has taken every byte before it. */
  protected fail(error: SpoolError): void {
    this.#pendingError ??= error;
    this.advance();
  }

  override _read(): void {
    this.#consumerWaiting = true;
    this.advance();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopListening();
    this.release();
    callback(error);
  }

  /** Moves the stream on: deliver, end or fail when the consumer waits; then fetch ahead. */
  protected advance(): void {
    if (this.destroyed) return;
    if (this.#consumerWaiting) {
      const next = this.nextChunk();
      if (next instanceof Buffer) {
        this.#consumerWaiting = false;
        this.#bytesDelivered += next.length;
        this.push(next);
      } else if (next === undefined) {
        const outcome = this.#outcome();
        if (outcome === 'end') {
          this.#consumerWaiting = false;
          this.onEnd();
          this.push(null);
          return;
        }
        if (outcome) {
          this.destroy(outcome);
          return;
        }
      }
    }
    this.fetchMore();
  }

  /** With every byte delivered: end, fail, or (undefined) wait for more. */
  #outcome(): 'end' | SpoolError | undefined {
    const offset = this.reachedOffset;
    if (this.#end !== undefined) return offset >= this.#end ? 'end' : this.#pendingError;
    const status = this.#latest;
    if (status?.state === 'COMPLETED' || status?.state === 'FAILED') {
      if (offset > status.size) {
        return new InvalidRangeError(`Offset ${offset} is past the end of resource ${status.id} (${status.size} bytes)`, {
          offset,
          size: status.size,
        });
      }
      // A follower whose resource is terminal and fully read ends as the resource did, even after its connection ended.
      if (offset === status.size) return status.state === 'COMPLETED' ? 'end' : new UploadFailedError(status.id, status.error);
    }
    return this.#pendingError;
  }
}
