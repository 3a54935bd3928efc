import { type SpoolError, toSpoolError } from '@spool/common';
import { PacedResourceStream } from './paced-resource-stream.js';
import type { StatusTracker } from './status-tracker.js';
import { wrongChunkLength } from './transport-requests.js';

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
 * (normal end) or FAILED (error {@link UploadFailedError} after every existing byte);
 * see {@link PacedResourceStream}.
 *
 * Up to `readAheadChunks` requests are outstanding (servers answer in order), so the
 * server never waits for a round trip; that is also the back-pressure: at most that many
 * chunks are in flight or waiting for the consumer, however slow it is.
 */
export class ResourceReadStream extends PacedResourceStream {
  readonly #source: ChunkSource;
  readonly #end: number | undefined;
  readonly #maxChunkBytes: number;
  readonly #readAheadChunks: number;
  /** Next byte offset to request. */
  #offset: number;
  /** Requested chunks in offset order; the first is the next to deliver. */
  readonly #slots: Slot[] = [];

  constructor(source: ChunkSource, options: ResourceReadStreamOptions) {
    super(options.end);
    this.#source = source;
    this.#offset = options.start;
    this.#end = options.end;
    this.#maxChunkBytes = options.maxChunkBytes;
    this.#readAheadChunks = options.readAheadChunks;
    this.listen({ onStatus: (listener) => source.statuses.subscribe(listener), onClose: (listener) => source.statuses.onClose(listener) });
  }

  /** Offset of the next byte this stream will deliver. */
  get position(): number {
    return this.#slots[0]?.start ?? this.#offset;
  }

  protected override nextChunk(): Buffer | 'pending' | undefined {
    const head = this.#slots[0];
    if (!head) return undefined;
    if (!head.chunk) return 'pending';
    this.#slots.shift();
    return head.chunk;
  }

  protected override get reachedOffset(): number {
    return this.#offset;
  }

  protected override release(): void {
    this.#slots.length = 0;
  }

  protected override fetchMore(): void {
    while (this.#slots.length < this.#readAheadChunks && !this.pendingError && !this.destroyed) {
      const available = this.#end ?? this.latestStatus?.size ?? 0;
      if (this.#offset >= available) return;
      const slot: Slot = { start: this.#offset, end: Math.min(available, this.#offset + this.#maxChunkBytes), chunk: undefined };
      this.#offset = slot.end;
      this.#slots.push(slot);
      this.#source.requestChunk(slot.start, slot.end).then(
        (chunk) => {
          if (!this.#slots.includes(slot)) return; // destroyed, or dropped after an earlier failure
          if (chunk.length === slot.end - slot.start) {
            slot.chunk = chunk;
            this.advance();
            return;
          }
          this.#failFrom(slot, wrongChunkLength(this.#source.resourceId, slot.start, slot.end, chunk.length));
        },
        (error: unknown) => {
          if (this.#slots.includes(slot)) this.#failFrom(slot, toSpoolError(error));
        },
      );
    }
  }

  /** `slot` failed: it and every later request are dropped; the bytes before it are still delivered. */
  #failFrom(slot: Slot, error: SpoolError): void {
    this.#slots.splice(this.#slots.indexOf(slot));
    this.#offset = slot.start;
    this.fail(error);
  }
}
