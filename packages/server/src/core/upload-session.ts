import { EventEmitter } from 'node:events';
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  ChecksumMismatchError,
  type Checksums,
  Crc32,
  checksumMismatches,
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
import type { LineIndexEntry, ResourceRecord } from './types.js';

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
  /**
   * Bytes become visible (status, pushes, ranges) once handed to the OS, not at the next
   * checkpoint (which still makes them durable). Off: a checkpoint makes them visible.
   */
  visibleOnWrite?: boolean | undefined;
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
  /** The writer was let go; what it returns (the lease given back) is awaited before `release`, `finish` or `fail` resolve. */
  onClosed: (session: UploadSession) => void | Promise<void>;
  /** The checksums computed as bytes arrive (see CreateUploadOptions.checksum); a resumed upload computes them at finish. */
  checksums: readonly ChecksumAlgorithm[];
  /**
   * Checksums of the stored bytes, read back: a resumed upload's at finish (the state of
   * the earlier writer's hashes is gone; re-hashing at every append would cost the whole
   * file each time, so it is done once, at finish), and one a `finish` asks to verify
   * that this upload did not compute as bytes arrived.
   */
  hashStored?: ((algorithms: readonly ChecksumAlgorithm[]) => Promise<Checksums>) | undefined;
  /** For a resumed upload: the last byte already stored. */
  resumeFrom?: { lastByte: number | undefined };
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
  checksums?: Checksums | undefined;
}

/**
 * The single writer of one resource. Protocols call `write` per chunk as it
 * arrives (false → pause the source until 'drain'), then `finish` or `fail`. Offsets:
 * *received* (handed to `write`), *written* (handed to the OS), *visible* (published;
 * what readers may read) and *recorded* (by the last checkpoint: durable, with
 * `syncOnCheckpoint` against machine crashes too). With `visibleOnWrite`, visible follows
 * written — each batch published once the OS has it (a killed process cannot lose it, and
 * recovery keeps what the file holds); else visible is the recorded offset.
 *
 * Events: 'drain'; 'durable' (size) after each checkpoint that recorded new bytes; 'error' (SpoolError) when the upload ends on the server's side — the
 * storage failed (STORAGE_FAILURE) or the resource was deleted (RESOURCE_NOT_FOUND) — once
 * it is FAILED and published: the protocol should close its client with that error.
 * 'idle' (TimeoutError) once, when no byte came for `idleTimeoutMs` — the owner decides:
 * fail, or release.
 */
export class UploadSession extends EventEmitter {
  readonly id: string;
  private readonly deps: UploadSessionDeps;
  /** CRC-32 of every received byte, inline: it runs at several GiB/s (absent for a resumed upload). */
  private readonly crc32: Crc32 | undefined;
  /** MD5 / SHA-256 of every received byte, computed off the event loop's thread (absent for a resumed upload). */
  private readonly hashes: [ChecksumAlgorithm, OffThreadHash][] = [];
  /** The final checksums: the incremental ones, the stored bytes re-read for a resumed upload, or none. */
  private readonly digest: (() => Promise<Checksums>) | undefined;
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
  /** Size and state the catalog has (the last checkpoint). */
  private recorded: { size: number; state: TransferState };
  /** A visibility fan-out is under way: bytes written meanwhile are shown together after it. */
  private showing = false;
  private showAgain = false;
  /** Index entries of the checkpoint being recorded: kept findable until the catalog has them. */
  private recording: LineIndexEntry[] | undefined;
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
    const { hashStored } = deps;
    if (deps.resumeFrom) {
      if (hashStored && deps.checksums.length > 0) this.digest = () => hashStored(deps.checksums);
    } else if (deps.checksums.length > 0) {
      for (const algorithm of deps.checksums) {
        if (algorithm === 'crc32') {
          this.crc32 = new Crc32();
          continue;
        }
        const hash = new OffThreadHash(algorithm);
        hash.on('drain', () => this.maybeDrain());
        hash.on('error', (err: Error) => this.storageFailed(err));
        this.hashes.push([algorithm, hash]);
      }
      this.digest = () => this.digests();
    }
    this.writtenLastByte = deps.resumeFrom?.lastByte;
    this.lines = deps.record.supportsLineAccess ? new LineIndexer(deps.record.newlines) : undefined;
    this.visible = {
      id: this.id,
      state: deps.record.state,
      size: deps.record.size,
      lines: deps.record.supportsLineAccess ? deps.record.lines : null,
    };
    this.recorded = { size: deps.record.size, state: deps.record.state };
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
    this.crc32?.update(chunk);
    let hashKeepsUp = true;
    for (const [, hash] of this.hashes) if (!hash.update(chunk)) hashKeepsUp = false;
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
    if (this.hashes.some(([, hash]) => !hash.accepting)) return;
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
        if (this.deps.limits.visibleOnWrite) this.show();
      }
    } catch (err) {
      this.storageFailed(err);
    } finally {
      this.flushing = undefined;
      this.currentBatch = undefined;
    }
  }

  /**
   * Publishes the written bytes (visible on write): at once when no fan-out is running,
   * else once it ends, with whatever was written meanwhile — one status for many batches
   * under load (a fan-out to 1,000 followers carries every write of its duration), one per
   * batch when idle. The bus delivers a long fan-out in slices between which the event
   * loop reads the uploader, so no pause is needed after it.
   */
  private show(): void {
    if (this.showing) {
      this.showAgain = true;
      return;
    }
    if (this.phase === 'ended' || this.failure || this.written <= this.visible.size) return;
    this.visible = { id: this.id, state: TransferState.IN_PROGRESS, size: this.written, lines: this.lines ? this.writtenNewlines : null };
    this.showing = true;
    // the core logs a bus that fails; the next show or checkpoint tells again
    void this.deps
      .publish(this.visible)
      .catch(() => undefined)
      .finally(this.shown);
  }

  private readonly shown = (): void => {
    this.showing = false;
    if (!this.showAgain) return;
    this.showAgain = false;
    this.show();
  };

  /**
   * Offset of line `block * LINE_INDEX_STRIDE` if this upload knows it and the catalog may
   * not have it yet (visible lines not checkpointed, or a checkpoint still being recorded).
   */
  lineBlockOffset(block: number): number | undefined {
    return this.lines?.pendingOffset(block) ?? this.recording?.find((e) => e.block === block)?.offset;
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
    const startsProgress = this.recorded.state === TransferState.INITIATED && size > 0;
    if (size === this.recorded.size && !startsProgress && !force) return;
    const state = size > 0 ? TransferState.IN_PROGRESS : this.recorded.state;
    const indexEntries = this.lines?.takeEntriesUpTo(size) ?? [];
    this.recording = indexEntries;
    try {
      const started = performance.now();
      if (this.deps.limits.syncOnCheckpoint) await this.deps.writer.sync();
      await this.deps.catalog.checkpoint(this.id, {
        size,
        newlines,
        lines: newlines,
        state,
        indexEntries,
        fence: this.deps.fence,
      });
      this.deps.metrics?.checkpointed((performance.now() - started) / 1000);
    } catch (err) {
      // Nothing more can be made durable (a full disk, ...): the upload cannot go on.
      this.storageFailed(err, 'Recording a checkpoint of');
      throw this.failure ?? toSpoolError(err);
    } finally {
      this.recording = undefined;
    }
    const grew = size > this.recorded.size;
    this.recorded = { size, state };
    if (grew) this.emit('durable', size);
    // Visible on write: readers already saw these bytes (never show them smaller).
    if (this.deps.limits.visibleOnWrite && size <= this.visible.size && state === this.visible.state && !force) return;
    if (size < this.visible.size) return;
    this.visible = { id: this.id, state, size, lines: this.lines ? newlines : null };
    await this.deps.publish(this.visible);
  }

  /** The offset the last checkpoint recorded: what survives whatever happens next. */
  get durableSize(): number {
    return this.recorded.size;
  }

  /** Every checksum of this upload, once every byte was handed to them. */
  private async digests(): Promise<Checksums> {
    const out: Checksums = {};
    if (this.crc32) out.crc32 = this.crc32.hex();
    for (const [algorithm, hash] of this.hashes) out[algorithm] = await hash.digest();
    return out;
  }

  /** The checksums this upload computes (those `finish` can verify). */
  get checksumAlgorithms(): readonly ChecksumAlgorithm[] {
    return this.deps.checksums;
  }

  /**
   * Ends the upload as COMPLETED after every accepted byte is written. With `expected`
   * checksums (a string: an MD5, as the Step protocol sends it), a mismatch fails the
   * resource and throws ChecksumMismatchError. One this upload did not compute as bytes
   * arrived is computed from the stored bytes (a read of the whole resource) and kept;
   * without a way to read them, INVALID_MESSAGE, and the resource stays open.
   */
  async finish(expected?: string | Checksums): Promise<ResourceStatus> {
    if (this.failure) throw this.failure;
    if (this.phase !== 'open') throw new ResourceTerminalError(this.id, this.visible.state);
    const want: Checksums = typeof expected === 'string' ? { md5: expected } : (expected ?? {});
    const computed = this.digest ? this.deps.checksums : [];
    const extra = CHECKSUM_ALGORITHMS.filter((name) => want[name] !== undefined && !computed.includes(name));
    const { hashStored } = this.deps;
    if (extra.length > 0 && !hashStored) {
      throw new InvalidMessageError(`A ${extra.join(', ')} checksum can be verified only by an upload that computes it`);
    }
    this.phase = 'finishing';
    await this.drainQueue();
    if (this.failure) throw this.failure;
    let checksums = await this.digest?.();
    if (extra.length > 0 && hashStored) checksums = { ...checksums, ...(await hashStored(extra)) };
    const [mismatch] = checksums ? checksumMismatches(want, checksums) : [];
    if (mismatch) {
      const [algorithm, wanted, actual] = mismatch;
      // An MD5 as the Step protocol always told it (bare hex); another names its algorithm.
      const named = (hex: string) => (algorithm === 'md5' ? hex : `${algorithm}:${hex}`);
      const error = new ChecksumMismatchError(named(wanted), named(actual));
      await this.end(TransferState.FAILED, error.message);
      throw error;
    }
    const status = await this.end(TransferState.COMPLETED, undefined, checksums);
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
    for (const [, hash] of this.hashes) hash.destroy();
    await this.deps.writer.close().catch(() => undefined);
    await this.deps.onClosed(this);
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
  private end(state: TransferState, error?: string, checksums?: Checksums): Promise<ResourceStatus> {
    this.ending ??= this.endOnce(state, error, checksums);
    return this.ending;
  }

  private async endOnce(state: TransferState, error?: string, checksums?: Checksums): Promise<ResourceStatus> {
    // Wait for any checkpoint in flight so the final record is the last word.
    await this.checkpointChain;
    if (this.phase === 'ended' || this.fenced) return this.visible;
    this.phase = 'ended';
    // A batch still being written (the session failed meanwhile) lands or fails first.
    await this.drainQueue();
    const size = this.written;
    const lines = reportedLines(this.writtenNewlines, size, this.writtenLastByte, true);
    let end: End = { state, error, checksums };
    let outcome: UploadOutcome = 'failed';
    try {
      end = await this.recordEnd(end, size, lines);
      if (end.state === TransferState.COMPLETED) outcome = 'completed';
    } finally {
      await this.detach(this.fenced ? 'fenced' : outcome);
    }
    // Taken over meanwhile: the end is the new writer's to tell.
    if (this.fenced) return this.visible;
    this.visible = {
      id: this.id,
      state: end.state,
      size,
      lines: this.lines ? lines : null,
      checksum: end.checksums?.md5,
      ...(end.checksums ? { checksums: end.checksums } : {}),
      error: end.error,
    };
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
        checksum: e.checksums?.md5 ?? null,
        ...(e.checksums ? { checksums: e.checksums } : {}),
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
