import { EventEmitter } from 'node:events';
import {
  ChecksumMismatchError,
  InvalidMessageError,
  QuotaExceededError,
  ResourceDeletedError,
  ResourceNotFoundError,
  type ResourceStatus,
  ResourceTerminalError,
  type SpoolError,
  StorageFailureError,
  TimeoutError,
  TransferState,
  toSpoolError,
  UploadFailedError,
  WriterFencedError,
} from '@spool/common';
import type { Logger } from 'winston';
import type { Catalog } from './catalog/catalog.js';
import { OffThreadHash } from './hashing/off-thread-hash.js';
import { LineIndexer, reportedLines } from './lines/line-indexer.js';
import { RecentBytes } from './recent-bytes.js';
import type { ByteWriter } from './storage/byte-store.js';
import type { ResourceRecord } from './types.js';

/** Bytes of the newest data kept in memory per open upload, for followers at the tail. */
const RECENT_BYTES = 256 * 1024;

/** The error of a resource deleted while it was open: what its followers see. */
export const DELETED_REASON = 'Resource deleted';

export interface UploadLimits {
  /** Largest resource in bytes; 0 = unlimited. */
  maxResourceBytes: number;
  /** Bytes queued for the disk before `write` asks the caller to wait for 'drain'. */
  highWaterMarkBytes: number;
  /** fdatasync before each checkpoint is recorded (machine-crash durability). */
  syncOnCheckpoint: boolean;
  /** An open upload given no byte for this long emits 'idle'; 0 or absent = never. */
  idleTimeoutMs?: number;
}

export interface UploadSessionDeps {
  record: ResourceRecord;
  writer: ByteWriter;
  catalog: Catalog;
  /** The fencing token of this writer's lease, carried by every checkpoint (core/leases). */
  fence?: number | undefined;
  publish: (status: ResourceStatus) => Promise<void>;
  /** Told how long each checkpoint took. */
  metrics?: { checkpointed(seconds: number): void };
  limits: UploadLimits;
  logger: Logger;
  onClosed: (session: UploadSession) => void;
  /** Hash every byte as it arrives (see CreateUploadOptions.checksum); a resumed upload re-hashes at finish regardless. */
  checksum: boolean;
  /**
   * For a resumed upload: the last byte already stored, and how to hash the whole
   * resource at finish (the MD5 state of the earlier writer is gone; re-hashing at every
   * append would cost the whole file each time, so it is done once, at finish), if it
   * gets a checksum at all.
   */
  resumeFrom?: { lastByte: number | undefined; hashStored?: (() => Promise<string>) | undefined };
}

type Phase = 'open' | 'finishing' | 'ended';

/**
 * How a writer closed, told by its `'closed'` event: the resource ended, was released for
 * a later resume, or another node took it over.
 */
export type UploadOutcome = 'completed' | 'failed' | 'released' | 'fenced';

/** How an upload ends. */
interface End {
  state: TransferState;
  error?: string | undefined;
  checksum?: string | undefined;
}

/**
 * The single writer of one resource. Protocols call `write` per chunk as it
 * arrives (false → pause the source until 'drain'), then `finish` or `fail`. Offsets:
 * *received* (handed to `write`), *written* (handed to the OS), *visible* (recorded by
 * the last checkpoint and published; what readers may read), which here is also the
 * *durable* offset (with `syncOnCheckpoint`, durable against machine crashes too).
 *
 * Events: 'drain'; 'error' (SpoolError) when the upload ends on the server's side — the
 * storage failed (STORAGE_FAILURE) or the resource was deleted (RESOURCE_NOT_FOUND) — once
 * it is FAILED and published: the protocol should close its client with that error.
 * 'idle' (TimeoutError) once, when no byte came for `idleTimeoutMs` — the owner decides:
 * fail, or release.
 */
export class UploadSession extends EventEmitter {
  readonly id: string;
  private readonly deps: UploadSessionDeps;
  /** MD5 of every received byte, computed off the event loop's thread (absent for a resumed upload). */
  private readonly hash: OffThreadHash | undefined;
  /** The final MD5: the incremental hash's digest, the stored bytes re-read for a resumed upload, or none. */
  private readonly digest: (() => Promise<string>) | undefined;
  private readonly lines: LineIndexer | undefined;
  private phase: Phase = 'open';
  private failure: SpoolError | undefined;
  /** Set when another writer took the resource over: this one records and publishes nothing more. */
  private fenced: SpoolError | undefined;
  private ending: Promise<ResourceStatus> | undefined;
  private closed = false;

  private received: number;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private needsDrain = false;
  private flushing: Promise<void> | undefined;
  /** The batch being written now: a checkpoint waits for it, never for the whole queue. */
  private currentBatch: Promise<void> | undefined;

  private written: number;
  private readonly recent: RecentBytes;
  private writtenNewlines: number;
  private writtenLastByte: number | undefined;
  private visible: ResourceStatus;
  /** Serialises checkpoints: each catalog update starts after the previous one ended. */
  private checkpointChain: Promise<unknown> = Promise.resolve();
  /** When the uploader last gave us a byte (or we last let it go on after back-pressure). */
  private lastActivityAt = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(deps: UploadSessionDeps) {
    super();
    this.deps = deps;
    this.id = deps.record.id;
    this.received = this.written = deps.record.size;
    this.recent = new RecentBytes(RECENT_BYTES, deps.record.size);
    this.writtenNewlines = deps.record.newlines;
    if (deps.resumeFrom) {
      this.digest = deps.resumeFrom.hashStored;
    } else if (deps.checksum) {
      const hash = new OffThreadHash('md5');
      hash.on('drain', () => this.maybeDrain());
      hash.on('error', (err: Error) => this.storageFailed(err));
      this.hash = hash;
      this.digest = () => hash.digest();
    }
    this.writtenLastByte = deps.resumeFrom?.lastByte;
    this.lines = deps.record.supportsLineAccess ? new LineIndexer(deps.record.newlines) : undefined;
    this.visible = {
      id: this.id,
      state: deps.record.state,
      size: deps.record.size,
      lines: deps.record.supportsLineAccess ? deps.record.lines : null,
    };
    this.armIdleTimer(deps.limits.idleTimeoutMs ?? 0);
  }

  /** One timer per upload, re-armed at most once per timeout rather than at every write. */
  private armIdleTimer(delayMs: number): void {
    if (delayMs <= 0) return;
    this.idleTimer = setTimeout(this.checkIdle, delayMs);
    this.idleTimer.unref();
  }

  private readonly checkIdle = (): void => {
    this.idleTimer = undefined;
    if (this.phase !== 'open' || this.failure) return;
    const timeoutMs = this.deps.limits.idleTimeoutMs ?? 0;
    // While the disk or the hash holds the uploader back, the silence is ours.
    if (this.needsDrain) this.lastActivityAt = Date.now();
    const quietMs = Date.now() - this.lastActivityAt;
    if (quietMs < timeoutMs) {
      this.armIdleTimer(timeoutMs - quietMs);
      return;
    }
    this.deps.logger.info('upload idle', { resourceId: this.id, idleTimeoutMs: timeoutMs });
    this.emit('idle', new TimeoutError(`Upload idle for ${timeoutMs} ms`));
  };

  private stopIdleTimer(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** The last published status: what readers may rely on. */
  get status(): ResourceStatus {
    return this.visible;
  }

  /** Bytes `[start, end)` from memory if they are among the newest written, else undefined (read the store). */
  recentBytes(start: number, end: number): Buffer[] | undefined {
    return end <= this.written ? this.recent.read(start, end) : undefined;
  }

  get receivedBytes(): number {
    return this.received;
  }

  get isOpen(): boolean {
    return this.phase === 'open' && !this.failure;
  }

  /**
   * Accepts the next bytes. Throws (without taking the chunk) if the session is not open
   * or the chunk would exceed the size limit; returns false when the caller should wait
   * for 'drain' before writing more.
   */
  write(chunk: Buffer): boolean {
    if (this.failure) throw this.failure;
    if (this.phase !== 'open') throw new ResourceTerminalError(this.id, this.visible.state);
    if (chunk.length === 0) return !this.needsDrain;
    const { maxResourceBytes } = this.deps.limits;
    if (maxResourceBytes > 0 && this.received + chunk.length > maxResourceBytes) {
      throw new QuotaExceededError(`Resource larger than the limit of ${maxResourceBytes} bytes`, {
        limit: maxResourceBytes,
      });
    }
    this.lastActivityAt = Date.now();
    const hashKeepsUp = this.hash ? this.hash.update(chunk) : true;
    this.lines?.scan(chunk, this.received);
    this.received += chunk.length;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    this.flushing ??= this.flush();
    if (!hashKeepsUp || this.queuedBytes >= this.deps.limits.highWaterMarkBytes) this.needsDrain = true;
    return !this.needsDrain;
  }

  /** 'drain' once both the disk queue and the hash queue are below their marks. */
  private maybeDrain(): void {
    if (!this.needsDrain) return;
    if (this.queuedBytes >= this.deps.limits.highWaterMarkBytes) return;
    if (this.hash && !this.hash.accepting) return;
    this.needsDrain = false;
    this.lastActivityAt = Date.now();
    this.emit('drain');
  }

  /** Writes the queue in batches (one writev per batch) until it is empty. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue;
        const batchBytes = this.queuedBytes;
        const target = { size: this.received, newlines: this.lines?.newlines ?? 0 };
        this.queue = [];
        this.currentBatch = this.deps.writer.append(batch);
        await this.currentBatch;
        this.written = target.size;
        this.recent.appendAll(batch);
        this.writtenNewlines = target.newlines;
        const last = batch[batch.length - 1];
        if (last) this.writtenLastByte = last[last.length - 1];
        this.queuedBytes -= batchBytes;
        this.maybeDrain();
      }
    } catch (err) {
      this.storageFailed(err);
    } finally {
      this.flushing = undefined;
      this.currentBatch = undefined;
    }
  }

  /** The disk (or the catalog) failed: the upload cannot go on. `action` says what failed. */
  private storageFailed(err: unknown, action = 'Writing'): void {
    if (isFencedOut(err)) {
      this.leaseLost(err);
      return;
    }
    if (err instanceof ResourceNotFoundError && !this.failure) {
      // Deleted on another node (its catalog row is gone): the same end as a local delete.
      void this.endWith(new ResourceDeletedError(this.id), DELETED_REASON);
      return;
    }
    if (this.failure) return;
    const message = (err as Error).message;
    this.deps.logger.error('storage write failed', { resourceId: this.id, error: message });
    void this.endWith(new StorageFailureError(`${action} resource ${this.id} failed: ${message}`, err));
  }

  /**
   * Another node took the resource over (this writer's lease moved: its renewal found it
   * gone, or the store or catalog refused its fence). The new writer owns the resource's
   * status now, so this one ends without recording or publishing anything: it drops what
   * is queued, detaches, and its writer hears WriterFencedError ('error', then every call).
   */
  leaseLost(err: SpoolError = new WriterFencedError(this.id)): void {
    if (this.fenced || this.phase === 'ended') return;
    this.fenced = err;
    this.failure ??= err;
    this.queue = [];
    this.queuedBytes = 0;
    this.deps.logger.warn('upload stopped: another writer took the resource over', { resourceId: this.id });
    void (async () => {
      await this.drainQueue();
      if (this.phase !== 'ended') await this.detach('fenced');
      if (this.listenerCount('error') > 0) this.emit('error', err);
    })();
  }

  /**
   * The resource is being deleted: the upload ends FAILED ("Resource deleted", published to
   * followers) and its writer gets ResourceDeletedError — from its next call, and at once
   * as an 'error' event. An upload already ending (or detached) just finishes doing so.
   */
  async endDeleted(): Promise<ResourceStatus> {
    if (this.ending || this.phase === 'ended') return this.ending ?? this.visible;
    return this.endWith(new ResourceDeletedError(this.id), DELETED_REASON);
  }

  /**
   * Ends the upload FAILED on the server's side: bytes still queued are dropped, every
   * later call of the writer throws `failure`, and once FAILED is recorded and published
   * (so whoever hears of it finds the resource in its final state) 'error' reports it.
   */
  private async endWith(failure: SpoolError, reason = failure.message): Promise<ResourceStatus> {
    this.failure = failure;
    this.queue = [];
    this.queuedBytes = 0;
    const status = await this.end(TransferState.FAILED, reason).catch(() => this.visible);
    // Without a listener an 'error' event would throw; the writer still learns it from its next call.
    if (this.listenerCount('error') > 0) this.emit('error', failure);
    return status;
  }

  private async drainQueue(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Records and publishes what was written since the last checkpoint. Cheap when idle. */
  checkpoint(): Promise<void> {
    const run = this.checkpointChain.then(() => this.recordCheckpoint());
    this.checkpointChain = run.catch(() => undefined);
    return run;
  }

  private async recordCheckpoint(force = false): Promise<void> {
    if (this.phase === 'ended' || this.failure) return;
    await this.currentBatch?.catch(() => undefined);
    if ((this.phase as Phase) === 'ended' || this.failure) return;
    const size = this.written;
    const newlines = this.writtenNewlines;
    const startsProgress = this.visible.state === TransferState.INITIATED && size > 0;
    if (size === this.visible.size && !startsProgress && !force) return;
    const state = size > 0 ? TransferState.IN_PROGRESS : this.visible.state;
    try {
      const started = performance.now();
      if (this.deps.limits.syncOnCheckpoint) await this.deps.writer.sync();
      await this.deps.catalog.checkpoint(this.id, {
        size,
        newlines,
        lines: newlines,
        state,
        indexEntries: this.lines?.takeEntriesUpTo(size) ?? [],
        fence: this.deps.fence,
      });
      this.deps.metrics?.checkpointed((performance.now() - started) / 1000);
    } catch (err) {
      // Nothing more can be made visible (a full disk, ...): the upload cannot go on.
      this.storageFailed(err, 'Recording a checkpoint of');
      throw this.failure ?? toSpoolError(err);
    }
    this.visible = { id: this.id, state, size, lines: this.lines ? newlines : null };
    await this.deps.publish(this.visible);
  }

  /**
   * Ends the upload as COMPLETED after every accepted byte is written. With
   * `expectedChecksum`, a mismatch fails the resource and throws ChecksumMismatchError
   * (INVALID_MESSAGE, resource still open, if this upload computes no checksum).
   */
  async finish(expectedChecksum?: string): Promise<ResourceStatus> {
    if (this.failure) throw this.failure;
    if (this.phase !== 'open') throw new ResourceTerminalError(this.id, this.visible.state);
    if (expectedChecksum !== undefined && !this.digest) {
      throw new InvalidMessageError('A checksum can be verified only by an upload that computes one');
    }
    this.phase = 'finishing';
    await this.drainQueue();
    if (this.failure) throw this.failure;
    const checksum = await this.digest?.();
    if (expectedChecksum !== undefined && checksum !== undefined && expectedChecksum.toLowerCase() !== checksum) {
      const mismatch = new ChecksumMismatchError(expectedChecksum, checksum);
      await this.end(TransferState.FAILED, mismatch.message);
      throw mismatch;
    }
    const status = await this.end(TransferState.COMPLETED, undefined, checksum);
    // Another ending won (deletion, a storage failure, recording COMPLETED failed): say why.
    if (status.state !== TransferState.COMPLETED) throw this.failure ?? new UploadFailedError(this.id, status.error);
    return status;
  }

  /**
   * Detaches the writer but leaves the resource IN_PROGRESS, every accepted byte written
   * and visible, so a later `SpoolCore.resumeUpload` can append (HTTP appends, resume).
   */
  async release(): Promise<ResourceStatus> {
    if (this.failure) throw this.failure;
    if (this.phase !== 'open') throw new ResourceTerminalError(this.id, this.visible.state);
    this.phase = 'finishing';
    await this.drainQueue();
    if (this.failure) throw this.failure;
    const run = this.checkpointChain.then(async () => {
      this.phase = 'open';
      // Forced: the catalog's updatedAt then says when the writer left (the resume grace starts).
      await this.recordCheckpoint(true);
      // Skipped because an earlier checkpoint failed: that failure's ending must still run.
      if (!this.failure) this.phase = 'ended';
    });
    this.checkpointChain = run.catch(() => undefined);
    try {
      await run;
    } catch (err) {
      // Recording failed (a full disk): the upload ends FAILED instead (storageFailed), and
      // that end, published before this rejects, closes the writer.
      if (this.ending) {
        await this.ending.catch(() => undefined);
        throw this.failure ?? toSpoolError(err);
      }
      await this.detach('failed');
      throw err;
    }
    if (this.failure) {
      // A checkpoint queued before this one failed (a full disk, a fence): that ending wins.
      await this.ending?.catch(() => undefined);
      throw this.failure;
    }
    await this.detach('released');
    return this.visible;
  }

  /** Lets go of the writer and the hash; the core forgets this session, and `'closed'` tells how it went. */
  private async detach(outcome: UploadOutcome): Promise<void> {
    this.phase = 'ended';
    this.stopIdleTimer();
    this.hash?.destroy();
    await this.deps.writer.close().catch(() => undefined);
    this.deps.onClosed(this);
    if (this.closed) return;
    this.closed = true;
    this.emit('closed', outcome);
  }

  /** Ends the upload as FAILED, keeping every byte accepted so far. Idempotent. */
  async fail(reason: string): Promise<ResourceStatus> {
    if (this.phase === 'ended') return this.visible;
    this.phase = 'finishing';
    await this.drainQueue();
    return this.end(TransferState.FAILED, reason);
  }

  /** The first ending wins; later callers (a fail racing a storage failure) get its result. */
  private end(state: TransferState, error?: string, checksum?: string): Promise<ResourceStatus> {
    this.ending ??= this.endOnce(state, error, checksum);
    return this.ending;
  }

  private async endOnce(state: TransferState, error?: string, checksum?: string): Promise<ResourceStatus> {
    // Wait for any checkpoint in flight so the final record is the last word.
    await this.checkpointChain;
    if (this.phase === 'ended' || this.fenced) return this.visible;
    this.phase = 'ended';
    // A batch still being written (the session failed meanwhile) lands or fails first.
    await this.drainQueue();
    const size = this.written;
    const lines = reportedLines(this.writtenNewlines, size, this.writtenLastByte, true);
    let end: End = { state, error, checksum };
    let outcome: UploadOutcome = 'failed';
    try {
      end = await this.recordEnd(end, size, lines);
      if (end.state === TransferState.COMPLETED) outcome = 'completed';
    } finally {
      await this.detach(this.fenced ? 'fenced' : outcome);
    }
    // Taken over meanwhile: the end is the new writer's to tell.
    if (this.fenced) return this.visible;
    this.visible = { id: this.id, state: end.state, size, lines: this.lines ? lines : null, checksum: end.checksum, error: end.error };
    await this.deps.publish(this.visible);
    this.deps.logger.info('upload ended', { resourceId: this.id, state: end.state, size, error: end.error });
    return this.visible;
  }

  /**
   * Records the end at `size`. COMPLETED only once durable and recorded (the client is
   * told COMPLETED only then); if it cannot be, the upload ends FAILED with that storage
   * error. A FAILED end first cuts what a failed append left past `size`; if even FAILED
   * cannot be recorded (the resource is gone), it is still published — followers must not
   * wait for an end that never comes. (A full disk does not get here: the core's catalog
   * keeps a FAILED end it cannot write yet, see DeferredWritesCatalog.)
   */
  private async recordEnd(end: End, size: number, lines: number): Promise<End> {
    const indexEntries = this.lines?.takeEntriesUpTo(size) ?? [];
    const record = (e: End) =>
      this.deps.catalog.checkpoint(this.id, {
        size,
        newlines: this.writtenNewlines,
        lines: this.lines ? lines : 0,
        state: e.state,
        checksum: e.checksum ?? null,
        error: e.error ?? null,
        indexEntries,
        fence: this.deps.fence,
      });
    if (end.state === TransferState.COMPLETED) {
      try {
        if (this.deps.limits.syncOnCheckpoint) await this.deps.writer.sync();
        await record(end);
        return end;
      } catch (err) {
        if (isFencedOut(err)) {
          this.fenced = err;
          this.failure ??= err;
          return { state: TransferState.FAILED, error: err.message };
        }
        const message = toSpoolError(err).message;
        this.deps.logger.error('final checkpoint failed', { resourceId: this.id, error: message });
        this.failure ??= new StorageFailureError(`Recording the end of resource ${this.id} failed: ${message}`, err);
        end = { state: TransferState.FAILED, error: this.failure.message };
      }
    } else if (this.deps.writer.size > size) {
      // On a full disk these bytes are the space the rest of the server needs.
      await this.deps.writer.truncate(size).catch((err: Error) => {
        this.deps.logger.warn('cutting a failed append failed', { resourceId: this.id, size, error: err.message });
      });
    }
    try {
      await record(end);
    } catch (err) {
      if (isFencedOut(err)) {
        this.fenced = err;
        return end;
      }
      this.deps.logger.warn('final status not recorded', { resourceId: this.id, state: end.state, error: toSpoolError(err).message });
    }
    return end;
  }
}

/** A refusal of this writer's fence (its lease moved), from the catalog or the store. */
function isFencedOut(err: unknown): err is SpoolError {
  return (err as SpoolError | undefined)?.details?.fenced === true;
}
