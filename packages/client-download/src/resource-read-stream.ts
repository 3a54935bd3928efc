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
  /** Chunks requested or held ahead of the consumer (≥ 1). */
  readAheadChunks: number;
}

/** One requested chunk: bytes [start, end), filled when the reply arrives. */
interface Slot {
  readonly start: number;
  readonly end: number;
  chunk: Buffer | undefined;
}

/**
 * A byte stream over a remote resource, fetched in chunks of at most `maxChunkBytes`:
 * either a fixed range, or (with `end` undefined) *following* the resource — each
 * status that shows more bytes triggers the next requests — until it is COMPLETED
 * (normal end) or FAILED (error {@link UploadFailedError} after every existing byte).
 *
 * Up to `readAheadChunks` requests are outstanding (servers answer in order), so the
 * server never waits for a round trip; that is also the back-pressure: at most that many
 * chunks are in flight or waiting for the consumer, however slow it is. The Readable's
 * own buffer is kept empty (highWaterMark 0): that is what lets an error be raised only
 * after the consumer has taken every byte before it — destroying a Readable drops
 * buffered data.
 */
export class ResourceReadStream extends Readable {
  readonly #source: ChunkSource;
  readonly #end: number | undefined;
  readonly #maxChunkBytes: number;
  readonly #readAheadChunks: number;
  /** Next byte offset to request. */
  #offset: number;
  #latest: ResourceStatus | undefined;
  /** Requested chunks in offset order; the first is the next to deliver. */
  readonly #slots: Slot[] = [];
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
    this.#readAheadChunks = options.readAheadChunks;
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
    return this.#slots[0]?.start ?? this.#offset;
  }

  override _read(): void {
    this.#consumerWaiting = true;
    this.#advance();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const unsubscribe of this.#unsubscribers.splice(0)) unsubscribe();
    this.#slots.length = 0;
    callback(error);
  }

  /** Moves the state machine: deliver, finish or fail when the consumer waits; fetch ahead when possible. */
  #advance(): void {
    if (this.destroyed) return;
    if (this.#consumerWaiting) {
      const head = this.#slots[0];
      if (head?.chunk) {
        this.#slots.shift();
        this.#consumerWaiting = false;
        this.#bytesDelivered += head.chunk.length;
        this.push(head.chunk);
      } else if (!head) {
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
    while (this.#slots.length < this.#readAheadChunks && !this.#pendingError && !this.destroyed) {
      const available = this.#end ?? this.#latest?.size ?? 0;
      if (this.#offset >= available) return;
      const slot: Slot = { start: this.#offset, end: Math.min(available, this.#offset + this.#maxChunkBytes), chunk: undefined };
      this.#offset = slot.end;
      this.#slots.push(slot);
      this.#source.requestChunk(slot.start, slot.end).then(
        (chunk) => {
          if (!this.#slots.includes(slot)) return; // destroyed, or dropped after an earlier failure
          if (chunk.length === slot.end - slot.start) slot.chunk = chunk;
          else {
            this.#failFrom(
              slot,
              new ProtocolViolationError(
                `Asked for bytes [${slot.start}, ${slot.end}) of ${this.#source.resourceId}, got ${chunk.length} bytes`,
                {
                  start: slot.start,
                  end: slot.end,
                  received: chunk.length,
                },
              ),
            );
          }
          this.#advance();
        },
        (error: unknown) => {
          if (!this.#slots.includes(slot)) return;
          this.#failFrom(slot, toSpoolError(error));
          this.#advance();
        },
      );
    }
  }

  /** `slot` failed: it and every later request are dropped; the bytes before it are still delivered. */
  #failFrom(slot: Slot, error: SpoolError): void {
    this.#pendingError ??= error;
    this.#slots.splice(this.#slots.indexOf(slot));
    this.#offset = slot.start;
  }
}
