import { EventEmitter } from 'node:events';
import {
  ChecksumMismatchError,
  InvalidMessageError,
  OffThreadHash,
  QuotaExceededError,
  type ResourceStatus,
  ResourceTerminalError,
  type SpoolError,
  StorageFailureError,
  TransferState,
  toSpoolError,
} from '@spool/common';
import type { Logger } from 'winston';
import type { Catalog } from './catalog/catalog.js';
import { LineIndexer, reportedLines } from './lines/line-indexer.js';
import { RecentBytes } from './recent-bytes.js';
import type { ByteWriter } from './storage/byte-store.js';
import type { ResourceRecord } from './types.js';

/** Bytes of the newest data kept in memory per open upload, for followers at the tail. */
const RECENT_BYTES = 256 * 1024;

export interface UploadLimits {
  /** Largest resource in bytes; 0 = unlimited. */
  maxResourceBytes: number;
  /** Bytes queued for the disk before `write` asks the caller to wait for 'drain'. */
  highWaterMarkBytes: number;
  /** fdatasync before each checkpoint is recorded (machine-crash durability). */
  syncOnCheckpoint: boolean;
}

export interface UploadSessionDeps {
  record: ResourceRecord;
  writer: ByteWriter;
  catalog: Catalog;
  publish: (status: ResourceStatus) => Promise<void>;
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
 * The single writer of one resource. Protocols call `write` per chunk as it
 * arrives (false → pause the source until 'drain'), then `finish` or `fail`. Offsets:
 * *received* (handed to `write`), *written* (handed to the OS), *visible* (recorded by
 * the last checkpoint and published; what readers may read), which here is also the
 * *durable* offset (with `syncOnCheckpoint`, durable against machine crashes too).
 *
 * Events: 'drain'; 'error' (SpoolError) when the storage fails — the session is then
 * FAILED and the protocol should close its client with that error.
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
  private ending: Promise<ResourceStatus> | undefined;

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

  private storageFailed(err: unknown): void {
    if (this.failure) return;
    this.failure = new StorageFailureError(`Writing resource ${this.id} failed: ${(err as Error).message}`, err);
    this.queue = [];
    this.queuedBytes = 0;
    this.deps.logger.error('storage write failed', { resourceId: this.id, error: (err as Error).message });
    // Record FAILED with what reached the disk first, so whoever hears of the error
    // (a protocol closing its connection) already finds the resource in its final state.
    const failure = this.failure;
    void this.end(TransferState.FAILED, failure.message)
      .catch(() => undefined)
      .then(() => this.emit('error', failure));
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
    if (this.deps.limits.syncOnCheckpoint) await this.deps.writer.sync();
    const state = size > 0 ? TransferState.IN_PROGRESS : this.visible.state;
    await this.deps.catalog.checkpoint(this.id, {
      size,
      newlines,
      lines: newlines,
      state,
      indexEntries: this.lines?.takeEntriesUpTo(size) ?? [],
    });
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
    return this.end(TransferState.COMPLETED, undefined, checksum);
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
      this.phase = 'ended';
    });
    this.checkpointChain = run.catch(() => undefined);
    try {
      await run;
    } finally {
      this.phase = 'ended';
      this.hash?.destroy();
      await this.deps.writer.close().catch(() => undefined);
      this.deps.onClosed(this);
    }
    return this.visible;
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
    if (this.phase === 'ended') return this.visible;
    this.phase = 'ended';
    const size = this.written;
    const terminalLines = reportedLines(this.writtenNewlines, size, this.writtenLastByte, true);
    try {
      if (this.deps.limits.syncOnCheckpoint && !this.failure) await this.deps.writer.sync();
      await this.deps.catalog.checkpoint(this.id, {
        size,
        newlines: this.writtenNewlines,
        lines: this.lines ? terminalLines : 0,
        state,
        checksum: checksum ?? null,
        error: error ?? null,
        indexEntries: this.lines?.takeEntriesUpTo(size) ?? [],
      });
    } catch (err) {
      this.deps.logger.error('final checkpoint failed', { resourceId: this.id, error: toSpoolError(err).message });
      throw toSpoolError(err);
    } finally {
      this.hash?.destroy();
      await this.deps.writer.close().catch(() => undefined);
      this.deps.onClosed(this);
    }
    this.visible = {
      id: this.id,
      state,
      size,
      lines: this.lines ? terminalLines : null,
      checksum,
      error,
    };
    await this.deps.publish(this.visible);
    this.deps.logger.info('upload ended', { resourceId: this.id, state, size, error });
    return this.visible;
  }
}
