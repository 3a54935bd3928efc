import { Readable } from 'node:stream';
import {
  InvalidRangeError,
  ProtocolViolationError,
  type ResourceStatus,
  type SpoolError,
  toSpoolError,
  UploadFailedError,
} from '@spool/common';
import type { StatusTracker } from './status-tracker.js';

/** What a {@link ResourceReadStream} needs from its resource. */
export interface ChunkSource {
  readonly resourceId: string;
  readonly statuses: StatusTracker;
  requestChunk(start: number, end: number): Promise<Buffer>;
}

export interface ResourceReadStreamOptions {
  /** First byte to deliver. */
  start: number;
  /** End of the range (exclusive), or undefined to follow the resource until it is terminal. */
  end: number | undefined;
  /** Largest chunk requested at once. */
  maxChunkBytes: number;
}

/**
 * A byte stream over a remote resource, fetched in chunks of at most `maxChunkBytes`:
 * either a fixed range, or (with `end` undefined) *following* the resource — each
 * status that shows more bytes triggers the next request — until it is COMPLETED
 * (normal end) or FAILED (error {@link UploadFailedError} after every existing byte).
 *
 * Back-pressure: at most one chunk is requested ahead of what the consumer has taken,
 * so memory stays at two chunks however slow the consumer. The Readable's own buffer
 * is kept empty (highWaterMark 0): that is what lets an error be raised only after the
 * consumer has taken every byte before it — destroying a Readable drops buffered data.
 */
export class ResourceReadStream extends Readable {
  readonly #source: ChunkSource;
  readonly #end: number | undefined;
  readonly #maxChunkBytes: number;
  /** Next byte offset to request. */
  #offset: number;
  #latest: ResourceStatus | undefined;
  /** A chunk fetched ahead, waiting for the consumer. */
  #prefetched: Buffer | undefined;
  #fetching = false;
  /** _read() was called and nothing was pushed since. */
  #consumerWaiting = false;
  /** The error to raise once the consumer has taken everything delivered before it. */
  #pendingError: SpoolError | undefined;
  #bytesDelivered = 0;
  readonly #unsubscribers: Array<() => void> = [];

  constructor(source: ChunkSource, options: ResourceReadStreamOptions) {
    super({ highWaterMark: 0 });
    this.#source = source;
    this.#offset = options.start;
    this.#end = options.end;
    this.#maxChunkBytes = options.maxChunkBytes;
    if (this.#end === undefined) {
      this.#unsubscribers.push(
        source.statuses.subscribe((status) => {
          this.#latest = status;
          this.#advance();
        }),
      );
    }
    this.#unsubscribers.push(
      source.statuses.onClose((error) => {
        this.#pendingError ??= error;
        this.#advance();
      }),
    );
  }

  /** Bytes handed to the consumer so far. */
  get bytesDelivered(): number {
    return this.#bytesDelivered;
  }

  /** Offset of the next byte this stream will deliver. */
  get position(): number {
    return this.#offset - (this.#prefetched?.length ?? 0);
  }

  override _read(): void {
    this.#consumerWaiting = true;
    this.#advance();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const unsubscribe of this.#unsubscribers.splice(0)) unsubscribe();
    this.#prefetched = undefined;
    callback(error);
  }

  /** Moves the state machine: deliver, finish or fail when the consumer waits; fetch ahead when possible. */
  #advance(): void {
    if (this.destroyed) return;
    if (this.#consumerWaiting) {
      const chunk = this.#prefetched;
      if (chunk) {
        this.#prefetched = undefined;
        this.#consumerWaiting = false;
        this.#bytesDelivered += chunk.length;
        this.push(chunk);
      } else if (!this.#fetching) {
        const outcome = this.#outcomeWhenNothingLeft();
        if (outcome === 'end') {
          this.#consumerWaiting = false;
          this.push(null);
          return;
        }
        if (outcome instanceof Error) {
          this.destroy(outcome);
          return;
        }
      }
    }
    this.#fetchAhead();
  }

  /** With nothing fetched or in flight: end, fail, or (undefined) wait for more. */
  #outcomeWhenNothingLeft(): 'end' | SpoolError | undefined {
    if (this.#pendingError) {
      // A follower whose resource is already terminal and fully read ends as it would have.
      return this.#terminalOutcome() ?? this.#pendingError;
    }
    if (this.#end !== undefined) return this.#offset >= this.#end ? 'end' : undefined;
    return this.#terminalOutcome();
  }

  #terminalOutcome(): 'end' | SpoolError | undefined {
    if (this.#end !== undefined) return this.#offset >= this.#end ? 'end' : undefined;
    const status = this.#latest;
    if (!status || (status.state !== 'COMPLETED' && status.state !== 'FAILED')) return undefined;
    if (this.#offset > status.size) {
      return new InvalidRangeError(`Offset ${this.#offset} is past the end of resource ${status.id} (${status.size} bytes)`, {
        offset: this.#offset,
        size: status.size,
      });
    }
    if (this.#offset < status.size) return undefined;
    return status.state === 'COMPLETED' ? 'end' : new UploadFailedError(status.id, status.error);
  }

  #fetchAhead(): void {
    if (this.#fetching || this.#prefetched || this.#pendingError || this.destroyed) return;
    const available = this.#end ?? this.#latest?.size ?? 0;
    if (this.#offset >= available) return;
    const start = this.#offset;
    const end = Math.min(available, start + this.#maxChunkBytes);
    this.#fetching = true;
    this.#source.requestChunk(start, end).then(
      (chunk) => {
        this.#fetching = false;
        if (this.destroyed) return; // The consumer went away; drop the late reply.
        if (chunk.length !== end - start) {
          this.#pendingError = new ProtocolViolationError(
            `Asked for bytes [${start}, ${end}) of ${this.#source.resourceId}, got ${chunk.length} bytes`,
            { start, end, received: chunk.length },
          );
        } else {
          this.#offset = end;
          this.#prefetched = chunk;
        }
        this.#advance();
      },
      (error: unknown) => {
        this.#fetching = false;
        this.#pendingError ??= toSpoolError(error);
        this.#advance();
      },
    );
  }
}
