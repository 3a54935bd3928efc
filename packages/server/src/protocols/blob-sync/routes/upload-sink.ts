import { EventEmitter } from 'node:events';
import { type BlobUploadEntry, ErrorCode, parseBlobUploadPreamble } from '@spool/common';
import type { UploadSession } from '../../../core/upload-session.js';
import type { ChunkSink } from '../../../transport/http/body-pump.js';
import { type BlobSpaceRef, blobIn } from '../blob-names.js';
import type { BlobSpace, SmallBlob } from '../blob-space.js';
import { SMALL_BLOB_BYTES } from '../context.js';
import { BlobError, invalidRequest } from '../errors.js';

const NEWLINE = 0x0a;

/** Small blobs stored in one core call (one catalog transaction): at most this many … */
export const BATCH_BLOBS = 512;
/** … and this many bytes of them. */
export const BATCH_BYTES = 1024 * 1024;
/** A batch not full is stored this long after its first blob completed (a slow client's blobs become readable). */
export const BATCH_DELAY_MS = 20;
/** Batches held at once (being stored and waiting to be): the sink's memory is at most this many BATCH_BYTES. */
const BATCHES_HELD = 2;

export interface BlobUploadSinkOptions {
  blobs: BlobSpace;
  space: BlobSpaceRef;
  /** Longest first line (blobMaxListBytes). */
  maxListBytes: number;
  /** Checks the whole list before any blob is created (409, 413, 507 …): throws to refuse it. */
  admit(entries: readonly BlobUploadEntry[]): Promise<void>;
  /**
   * Blobs created ahead of their bytes, and blobs whose end is being recorded while the
   * next ones arrive (0: one blob open at a time, for `maxActiveUploads`).
   */
  window: number;
  /**
   * Largest blob collected whole and stored with others in batches, without an upload
   * session (`BlobSpace.storeWholeMany`; default SMALL_BLOB_BYTES; none without a window).
   * Memory: at most BATCHES_HELD batches of BATCH_BYTES.
   */
  smallBlobBytes?: number;
}

/** The blob being written: how many of its bytes are still to come. */
interface CurrentBlob {
  readonly id: string;
  readonly size: number;
  /** Where a large blob's bytes go as they arrive. */
  readonly session?: UploadSession;
  /** A small blob's bytes, collected until its last one (then stored whole). */
  readonly parts?: Buffer[];
  remaining: number;
}

/**
 * Where an upload stream's body goes (the request body pump feeds it, with its
 * back-pressure, idle timeout and deadline): the first line is collected (bounded) and
 * parsed, the list admitted, then exactly `size` bytes go into each blob: a large one's
 * UploadSession (created ahead, finished as soon as its last byte is in), a small one
 * collected and stored whole in one core call (`BlobSpace.storeWhole`) while the next
 * arrive. `write` returns false while something is awaited (a blob being created, a
 * session draining to disk, the list being checked): the pump pauses the client until
 * 'drain'. Memory: the first line, and at most what the pump hands over while paused.
 *
 * A failure (a malformed first line, bytes past the last blob, a session failing) is
 * emitted as 'error'; the owner then calls `abort`. After the body ends, `end` checks it
 * was complete.
 */
export class BlobUploadSink extends EventEmitter implements ChunkSink {
  private readonly queue: Buffer[] = [];
  private listParts: Buffer[] = [];
  private listBytes = 0;
  /** The first line's list, once admitted. */
  private entries: readonly BlobUploadEntry[] | undefined;
  /** Index of the next blob to create. */
  private next = 0;
  /** The next blobs, being created ahead of their bytes (in order: the catalog records them in list order). */
  private readonly created: Promise<CurrentBlob>[] = [];
  private current: CurrentBlob | undefined;
  /** An awaited step (admitting the list, a blob's creation, a session's drain, a full finish window). */
  private busy = false;
  private wantsDrain = false;
  private failure: unknown;
  private readonly finishing: Promise<void>[] = [];
  /** Sessions whose finish failed: FAILED, to be deleted like any unfinished blob. */
  private readonly unfinished: UploadSession[] = [];
  private stored = 0;
  private onIdle: (() => void) | undefined;
  /** Small blobs complete and not yet handed to the core, and their bytes. */
  private batch: SmallBlob[] = [];
  private batchBytes = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  /** Batches handed over, oldest first, each stored only after the one before it (so what is stored is always the list's first N). */
  private readonly batches: Promise<void>[] = [];

  constructor(private readonly options: BlobUploadSinkOptions) {
    super();
  }

  write(chunk: Buffer): boolean {
    if (this.failure !== undefined) throw this.failure;
    this.queue.push(chunk);
    this.work();
    if (this.busy || this.queue.length > 0) {
      this.wantsDrain = true;
      return false;
    }
    return true;
  }

  /**
   * The body ended: waits for the bytes handed over, then checks it was complete (400
   * `BlobTruncated` naming the blob it stopped in, or an unfinished first line) and that
   * every blob is recorded. Returns how many blobs were stored.
   */
  async end(): Promise<number> {
    await this.idle();
    if (this.failure !== undefined) throw this.failure;
    if (this.entries === undefined) {
      throw invalidRequest(
        this.listBytes === 0 && this.listParts.length === 0
          ? 'Empty upload: the body must start with a JSON list of [blob_id, size] and a newline'
          : 'The body ended inside its first line: the JSON list of [blob_id, size] must end with a newline',
      );
    }
    const current = this.current;
    if (current) {
      throw new BlobError(
        400,
        'BlobTruncated',
        ErrorCode.UPLOAD_ABORTED,
        `The body ended ${current.size - current.remaining} bytes into blob ${current.id}, which declared ${current.size}: it is not stored (the blobs before it are)`,
        { blob: current.id, expected: current.size, received: current.size - current.remaining },
      );
    }
    this.flushBatch();
    await Promise.all([...this.finishing, ...this.batches]);
    return this.stored;
  }

  /**
   * Ends the upload after a failure: the blob being written is FAILED and deleted (never
   * stored truncated); blobs already complete are kept. Returns how many were stored.
   */
  async abort(reason: string): Promise<number> {
    this.failure ??= new Error(reason);
    const ahead = await Promise.allSettled(this.created.splice(0));
    const unfinished = ahead.flatMap((result) => (result.status === 'fulfilled' && result.value.session ? [result.value.session] : []));
    if (this.current?.session) unfinished.push(this.current.session);
    this.current = undefined;
    // The small blobs collected whole are complete: they are stored (or, after a refusal, not).
    this.flushBatch();
    await Promise.allSettled([...this.finishing, ...this.batches]);
    unfinished.push(...this.unfinished);
    await Promise.all(unfinished.map((session) => this.options.blobs.discard(session, `Blob upload stream failed: ${reason}`)));
    return this.stored;
  }

  /** Processes queued bytes until one needs an await (or none is left). */
  private work(): void {
    while (!this.busy && this.failure === undefined) {
      if (this.current === undefined && this.created.length === 0 && this.takeSmall()) continue;
      if (this.current === undefined && this.createAhead()) {
        // Taken off the list only once created: until then `abort` finds it there.
        this.await(this.created[0] as Promise<CurrentBlob>, (current) => {
          this.created.shift();
          this.current = current;
          this.createAhead();
          if (current.size === 0) this.complete(current);
        });
        continue;
      }
      const chunk = this.queue[0];
      if (chunk === undefined) break;
      if (this.entries === undefined) {
        this.readList(chunk);
        continue;
      }
      const current = this.current;
      if (current === undefined) {
        const extra = this.queue.reduce((sum, part) => sum + part.length, 0);
        this.fail(
          invalidRequest(
            `The body goes on after the last blob (at least ${extra} more bytes): each blob must be exactly its declared size`,
          ),
        );
        return;
      }
      const part = this.take(current.remaining);
      current.remaining -= part.length;
      const { session } = current;
      let more = true;
      if (session === undefined) current.parts?.push(part);
      else {
        try {
          more = session.write(part);
        } catch (err) {
          this.fail(err);
          return;
        }
      }
      if (current.remaining === 0) this.complete(current);
      else if (!more) this.await(new Promise<void>((resolve) => session?.once('drain', resolve)));
    }
    if (this.busy || this.queue.length > 0) return;
    this.onIdle?.();
    if (this.wantsDrain && this.failure === undefined) {
      this.wantsDrain = false;
      this.emit('drain');
    }
  }

  /** Up to `max` bytes off the front of the queue. */
  private take(max: number): Buffer {
    const chunk = this.queue[0] as Buffer;
    if (chunk.length <= max) {
      this.queue.shift();
      return chunk;
    }
    this.queue[0] = chunk.subarray(max);
    return chunk.subarray(0, max);
  }

  /** Collects the first line; at its newline, parses and admits the list. */
  private readList(chunk: Buffer): void {
    const newline = chunk.indexOf(NEWLINE);
    const part = this.take(newline === -1 ? chunk.length : newline + 1);
    const line = newline === -1 ? part : part.subarray(0, part.length - 1);
    if (this.listBytes + line.length > this.options.maxListBytes) {
      this.fail(
        invalidRequest(
          `The first line (the JSON list of [blob_id, size]) is longer than ${this.options.maxListBytes} bytes (blobMaxListBytes): send fewer blobs per stream`,
        ),
      );
      return;
    }
    this.listParts.push(line);
    this.listBytes += line.length;
    if (newline === -1) return;
    let entries: BlobUploadEntry[];
    try {
      entries = parseBlobUploadPreamble(Buffer.concat(this.listParts).toString('utf8'));
    } catch (err) {
      this.fail(err);
      return;
    }
    this.listParts = [];
    this.await(this.options.admit(entries), () => {
      this.entries = entries;
    });
  }

  private isSmall([, size]: BlobUploadEntry): boolean {
    return this.options.window > 0 && size <= (this.options.smallBlobBytes ?? SMALL_BLOB_BYTES);
  }

  /** The next blob, if small (and a window allows storing it whole): its bytes are collected, nothing awaited. */
  private takeSmall(): boolean {
    const entry = this.entries?.[this.next];
    if (entry === undefined || !this.isSmall(entry)) return false;
    this.next++;
    const [id, size] = entry;
    const current: CurrentBlob = { id, size, parts: [], remaining: size };
    this.current = current;
    if (size === 0) this.complete(current);
    return true;
  }

  /** Starts creating the next blobs, up to the window (large ones: a small one is taken when reached); true if one is (being) created for the writer to take. */
  private createAhead(): boolean {
    const entries = this.entries;
    if (entries === undefined) return false;
    // Without a window, one blob is open at a time: the next is created once the current one ended.
    const ahead = this.options.window > 0 ? this.options.window : this.current === undefined ? 1 : 0;
    while (this.next < entries.length && this.created.length < ahead) {
      const entry = entries[this.next] as BlobUploadEntry;
      if (this.isSmall(entry)) break;
      this.next++;
      const created = this.create(entry);
      // Reported when the writer reaches it (or discarded by abort), never unhandled.
      created.catch(() => undefined);
      this.created.push(created);
    }
    return this.created.length > 0;
  }

  private async create([id, size]: BlobUploadEntry): Promise<CurrentBlob> {
    const session = await this.options.blobs.create(blobIn(this.options.space, id));
    session.once('error', (err: Error) => this.fail(err));
    return { id, size, session, remaining: size };
  }

  /** The blob's last byte is in: its end is recorded while the next blob arrives (within the window). */
  private complete(current: CurrentBlob): void {
    this.current = undefined;
    const { session, parts } = current;
    if (session === undefined) {
      this.addToBatch({ id: current.id, bytes: parts?.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts ?? []) });
      return;
    }
    const finished = session.finish().then(
      () => {
        this.stored++;
      },
      (err: unknown) => {
        this.unfinished.push(session);
        throw err;
      },
    );
    finished.catch((err: unknown) => this.fail(err));
    this.finishing.push(finished);
    if (this.finishing.length > this.options.window) this.await(this.finishing.shift() as Promise<void>);
  }

  /** A small blob is complete: into the batch, stored once the batch is full (or after BATCH_DELAY_MS, or at the end). */
  private addToBatch(blob: SmallBlob): void {
    this.batch.push(blob);
    this.batchBytes += blob.bytes.length;
    if (this.batch.length >= BATCH_BLOBS || this.batchBytes >= BATCH_BYTES) {
      this.flushBatch();
      // Memory: the next batch is collected only while at most BATCHES_HELD are held.
      if (this.batches.length > BATCHES_HELD) this.await(this.batches[0] as Promise<void>);
    } else {
      this.batchTimer ??= setTimeout(() => this.flushBatch(), BATCH_DELAY_MS);
    }
  }

  /** Hands the collected small blobs to the core, after the batch before them (if that one failed, they are not stored). */
  private flushBatch(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.batch.length === 0) return;
    const blobs = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const { space } = this.options;
    const stored = (this.batches[this.batches.length - 1] ?? Promise.resolve()).then(async () => {
      const result = await this.options.blobs.storeWholeMany(space, blobs);
      this.stored += result.stored;
      if (result.refused) throw result.refused;
    });
    const held = stored.finally(() => {
      this.batches.splice(this.batches.indexOf(held), 1);
    });
    // Reported once (by the first batch that fails), never unhandled.
    held.catch((err: unknown) => this.fail(err));
    this.batches.push(held);
  }

  /** Stops processing until `step` settles; then `next` (which may await again) and processing goes on. */
  private await<T>(step: Promise<T>, next?: (value: T) => void): void {
    this.busy = true;
    step.then(
      (value) => {
        this.busy = false;
        if (this.failure !== undefined) return;
        next?.(value);
        this.work();
      },
      (err: unknown) => {
        this.busy = false;
        this.fail(err);
      },
    );
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.onIdle?.();
  }

  /** Resolves once nothing is being awaited and no byte waits (or the sink failed). */
  private idle(): Promise<void> {
    if ((!this.busy && this.queue.length === 0) || this.failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.onIdle = () => {
        if ((this.busy || this.queue.length > 0) && this.failure === undefined) return;
        this.onIdle = undefined;
        resolve();
      };
    });
  }
}
