import { once } from 'node:events';
import { Readable } from 'node:stream';
import {
  type ChecksumAlgorithm,
  type Checksums,
  Crc32,
  describeZodError,
  InvalidMetadataError,
  InvalidRangeError,
  isStatusProgress,
  isTerminal,
  LineAccessUnsupportedError,
  LinesOutOfRangeError,
  OffsetMismatchError,
  QuotaExceededError,
  ResourceDeletedError,
  ResourceMetadataSchema,
  ResourceNotFoundError,
  type ResourceStatus,
  ResourceTerminalError,
  TransferState,
  WriterConflictError,
} from '@spool/common';
import { v7 as uuidv7 } from 'uuid';
import type { Logger } from 'winston';
import { AccessControl } from './access/access-control.js';
import type { Catalog, CreatedWhole, NameUniqueness, Usage } from './catalog/catalog.js';
import { DeferredWritesCatalog } from './catalog/deferred-writes-catalog.js';
import { type CatchUpPace, CatchUpReads } from './catch-up-reads.js';
import { contextChannel, type EventBus, resourceChannel } from './events/event-bus.js';
import { OffThreadHash } from './hashing/off-thread-hash.js';
import { LocalWriterLeases, type WriterLease, type WriterLeases } from './leases/writer-leases.js';
import { LineIndexer, reportedLines } from './lines/line-indexer.js';
import { LinePage } from './lines/line-page.js';
import { LruMap } from './lru-map.js';
import { looksLikeId, validateResourceName } from './names.js';
import { RemoteTails } from './remote-tails.js';
import type { ByteStore } from './storage/byte-store.js';
import { LINE_INDEX_STRIDE, type ListFilter, type NamedResource, type NewResource, type ResourceRecord } from './types.js';
import { DELETED_REASON, type UploadLimits, UploadSession, type UploadSessionDeps } from './upload-session.js';

export interface SpoolCoreOptions extends UploadLimits {
  checkpointIntervalMs: number;
  /** How long a resumable upload whose writer left (or whose server died) may be resumed before it is FAILED. */
  resumeGraceMs: number;
  /** Terminal resources older than this are deleted; 0 keeps them forever. */
  retentionMs: number;
  /** How often the grace and retention rules are applied. */
  sweepIntervalMs: number;
  /** Most uploads open at once in this process; 0 = unlimited. */
  maxActiveUploads: number;
  /** Largest line page in bytes (lines are returned whole, in one message). */
  maxLinesReplyBytes: number;
  /** Bytes that readers behind the tail hold in total, as read pieces (see CatchUpReads); default 256 MiB. */
  catchUpReadBudgetBytes?: number | undefined;
  /**
   * Largest resource stored whole (`storeWhole`, `storeWholeMany`) whose bytes are kept in
   * its catalog row instead of the byte store; 0: none. Default 64 KiB.
   */
  inlineMaxBytes?: number | undefined;
}

/** Default of `inlineMaxBytes`. */
export const DEFAULT_INLINE_MAX_BYTES = 64 * 1024;

/** One resource of `storeWholeMany`: its metadata, how it is named, and all its bytes. */
export interface WholeUpload {
  metadata: unknown;
  options: Omit<StoreWholeOptions, 'uniqueName'>;
  bytes: Buffer;
}

export type StoreWholeOptions = Omit<CreateUploadOptions, 'checksum' | 'resumable'>;

/** Hooks the core reports its timings to (the server's metrics; the core knows nothing of Prometheus). */
export interface CoreMetrics {
  /** A checkpoint was recorded (sync + catalog update), in seconds. */
  checkpointed(seconds: number): void;
  /** A status was published to every subscriber (event bus), in seconds. */
  fannedOut(seconds: number): void;
}

export interface SpoolCoreDeps {
  catalog: Catalog;
  /** Access rules for every protocol; absent = access control off. */
  access?: AccessControl;
  store: ByteStore;
  bus: EventBus;
  /** Who may write a resource, across nodes; absent = this process only (LocalWriterLeases). */
  leases?: WriterLeases;
  logger: Logger;
  metrics?: CoreMetrics | undefined;
}

export interface CreateUploadOptions {
  contextId?: string | null | undefined;
  /** A path-like name readers may use instead of the id (see core/names.ts); unique among live resources. */
  name?: string | null | undefined;
  /** `always`: the name may never be reused, even once the resource ended (blob ids). Default `live`. */
  uniqueName?: NameUniqueness | undefined;
  /** Small string attributes kept with the resource. */
  attributes?: Record<string, string> | undefined;
  /** The writer may leave and come back (`resumeUpload`) within the grace period. */
  resumable?: boolean | undefined;
  writeTokenHash?: string | null | undefined;
  readTokenHash?: string | null | undefined;
  /**
   * The checksums computed as bytes arrive: a list of algorithms, or true (the default:
   * MD5, as the Step protocol needs) or false (none). MD5 costs a core at ≈ 0.5 GiB/s;
   * CRC-32 runs inline at several GiB/s. A resumed upload computes them at finish instead.
   */
  checksum?: ChecksumChoice | undefined;
}

/** Checksums of an upload: the algorithms, or true (MD5) / false (none). */
export type ChecksumChoice = boolean | readonly ChecksumAlgorithm[];

function checksumAlgorithms(choice: ChecksumChoice | undefined): readonly ChecksumAlgorithm[] {
  if (choice === undefined || choice === true) return ['md5'];
  return choice === false ? [] : choice;
}

export interface ResumeUploadOptions {
  /**
   * The checksums the resource gets when it is finished (as CreateUploadOptions.checksum,
   * default MD5): a resume at offset 0 hashes bytes as they arrive, like a new upload; a
   * later one re-reads every stored byte once, at finish. False: none, which saves that
   * work where nobody reads it.
   */
  checksum?: ChecksumChoice | undefined;
}

export type StatusListener = (status: ResourceStatus) => void;

/** A page of lines as raw bytes, with where it starts and ends in the resource. */
export interface LinePageBytes {
  /** Each line with its `\n` (a last unterminated line of a terminal resource has none). */
  lines: Buffer[];
  /** Byte offset of the first line (for an empty page: where line `start` would start). */
  startOffset: number;
  /** Byte offset just past the last line. */
  endOffset: number;
}

/** Default of `catchUpReadBudgetBytes`: 10,000 lagging followers hold 16 KiB pieces (160 MiB), 256 hold 1 MiB. */
const DEFAULT_CATCH_UP_READ_BUDGET_BYTES = 256 * 1024 * 1024;
/** Statuses of uploads written on other nodes remembered per node (a few hundred bytes each). */
const HEARD_STATUSES = 10_000;

/** Bytes read per step while scanning for lines. */
const LINE_SCAN_BYTES = 64 * 1024;
/** Largest span between two line index entries read in one step (ordinary lines: ≈30 KiB per entry). */
const LINE_SPAN_READ_MAX_BYTES = 1024 * 1024;

export function statusOf(record: ResourceRecord): ResourceStatus {
  return {
    id: record.id,
    state: record.state,
    size: record.size,
    lines: record.supportsLineAccess ? record.lines : null,
    ...(record.checksum ? { checksum: record.checksum } : {}),
    ...(Object.keys(record.checksums).length > 0 ? { checksums: record.checksums } : {}),
    ...(record.error ? { error: record.error } : {}),
  };
}

/**
 * The protocol-agnostic core: registers resources, hands out the one writer per
 * resource, checkpoints, publishes status, and serves byte ranges and line pages
 * bounded by the visible size. Protocols translate wire messages into these calls.
 */
export class SpoolCore {
  private readonly active = new Map<string, UploadSession>();
  /** Ids whose writer is being re-opened (and how that ends): a second writer is refused meanwhile, a delete waits. */
  private readonly resuming = new Map<string, Promise<unknown>>();
  /** Ids being deleted: no writer is handed out for them. */
  private readonly deleting = new Set<string>();
  /** Uploads publishing their terminal status: their writer is gone, their newest bytes are still served from memory. */
  private readonly ending = new Map<string, UploadSession>();
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private closing = false;

  readonly access: AccessControl;
  /** The catalog as the core uses it: an end or delete a full disk cannot record yet waits in memory, shown as done. */
  private readonly catalog: DeferredWritesCatalog;
  private readonly leases: WriterLeases;
  /** Newest bytes of uploads written by other nodes, read once per node for every follower here. */
  private readonly remoteTails: RemoteTails;
  /**
   * The newest status this node heard from the bus for uploads written elsewhere: with
   * visible-on-write it may be ahead of the catalog (the last checkpoint), and readers here
   * who saw it must be able to read its bytes and never see the size go back.
   */
  private readonly heard = new LruMap<string, ResourceStatus>();
  /** Storage reads of followers behind the tail: after ingest, in turns, within a memory budget. */
  private readonly catchUp: CatchUpReads;

  readonly options: SpoolCoreOptions;

  constructor(
    readonly deps: SpoolCoreDeps,
    options: SpoolCoreOptions,
  ) {
    // Visible on write on every bus: a node reading an upload another node writes checks
    // ranges against the newest status it heard (`heard`), not only the catalog.
    this.options = { ...options, visibleOnWrite: options.visibleOnWrite ?? true };
    this.access = deps.access ?? new AccessControl(false, [], deps.catalog);
    this.catalog = new DeferredWritesCatalog(deps.catalog, deps.logger);
    this.leases = deps.leases ?? new LocalWriterLeases();
    this.catchUp = new CatchUpReads(options.catchUpReadBudgetBytes ?? DEFAULT_CATCH_UP_READ_BUDGET_BYTES);
    this.remoteTails = new RemoteTails(deps.store, (id) => this.active.has(id) || this.ending.has(id));
  }

  /** Recovers after a crash or stop, then starts the checkpointer. */
  async start(): Promise<void> {
    await this.recover();
    this.timer = setInterval(() => this.checkpointAll(), this.options.checkpointIntervalMs);
    this.timer.unref();
    this.sweeper = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((err: Error) => {
          this.deps.logger.error('sweep failed', { error: err.message });
        })
        .finally(() => {
          this.sweeping = undefined;
        });
    }, this.options.sweepIntervalMs);
    this.sweeper.unref();
  }

  /**
   * Records catalog changes a full disk deferred, fails resumable uploads nobody resumed
   * within the grace period, and deletes terminal resources past the retention age.
   */
  async sweep(now = Date.now()): Promise<void> {
    const { catalog } = this;
    const { logger } = this.deps;
    await catalog.recordDeferred();
    // Uploads of a node that died or hangs (their leases ran out): recovered as at a start.
    for (const id of await this.leases.orphans()) {
      if (this.active.has(id) || this.resuming.has(id)) continue;
      const record = await catalog.get(id);
      if (record && !isTerminal(record.state)) {
        await this.recoverOne(record);
      } else {
        // Ended or gone, its writer died before giving the lease back: give it back for it.
        await (await this.leases.tryAcquire(id))?.release();
      }
    }
    for (const state of [TransferState.INITIATED, TransferState.IN_PROGRESS]) {
      let after: string | undefined;
      for (;;) {
        const batch = await catalog.list({ state, updatedBefore: now - this.options.resumeGraceMs, after, limit: 500 });
        if (batch.length === 0) break;
        after = batch[batch.length - 1]?.id;
        for (const record of batch) {
          if (this.active.has(record.id) || this.resuming.has(record.id)) continue;
          // A writer on another node (an idle upload) holds it: not abandoned.
          const lease = await this.leases.tryAcquire(record.id);
          if (!lease) continue;
          try {
            // Another node may have resumed or failed it since the listing.
            const current = await catalog.get(record.id);
            if (!current || isTerminal(current.state) || current.updatedAt >= now - this.options.resumeGraceMs) continue;
            await this.failDetached(current, `Not resumed within ${this.options.resumeGraceMs} ms`);
          } finally {
            await lease.release();
          }
          logger.warn('abandoned upload marked FAILED', { resourceId: record.id, size: record.size });
        }
      }
    }
    if (this.options.retentionMs > 0) {
      for (;;) {
        const expired = await catalog.list({ completedBefore: now - this.options.retentionMs, limit: 500 });
        if (expired.length === 0) break;
        for (const record of expired) {
          try {
            await this.delete(record.id);
          } catch (err) {
            // Every node sweeps: another one may have deleted it first.
            if (err instanceof ResourceNotFoundError) continue;
            throw err;
          }
          logger.info('resource expired', { resourceId: record.id, completedAt: record.completedAt });
        }
      }
    }
  }

  /** Marks a resource without an attached writer FAILED, keeping its checkpointed bytes. */
  private async failDetached(record: ResourceRecord, error: string): Promise<void> {
    const { catalog } = this;
    const { store } = this.deps;
    // Line counts only matter with line access: read the last byte only then.
    const lines = record.supportsLineAccess
      ? reportedLines(
          record.newlines,
          record.size,
          record.size > 0 ? (await store.read(record.id, record.size - 1, record.size))[0] : undefined,
          true,
        )
      : 0;
    const updated = await catalog.checkpoint(record.id, {
      size: record.size,
      newlines: record.newlines,
      lines,
      state: TransferState.FAILED,
      indexEntries: [],
      error,
    });
    await this.publish(updated, statusOf(updated));
  }

  /**
   * Deletes a resource. An upload writing it ends first: followers see FAILED ("Resource
   * deleted") and its writer is told (ResourceDeletedError); a resume under way completes
   * first and is ended the same way, a later one finds nothing. Then the bytes go, then the
   * catalog entry: on a full disk the bytes are the space the catalog needs (and if it
   * still cannot write, the delete waits in memory, the resource gone for every reader).
   * Readers already streaming keep their open file.
   */
  async delete(id: string): Promise<void> {
    const record = await this.getRecord(id);
    this.deleting.add(id);
    try {
      await this.resuming.get(id)?.catch(() => undefined);
      const session = this.active.get(id);
      const status = session ? await session.endDeleted() : statusOf(record);
      // Also for a writer that left (resumable) or one that was detaching meanwhile.
      if (!isTerminal(status.state)) await this.publish(record, { ...status, state: TransferState.FAILED, error: DELETED_REASON });
      // An inline resource's bytes go with its catalog row.
      if (!record.inline) await this.deps.store.delete(id);
      await this.catalog.delete(id);
    } finally {
      this.deleting.delete(id);
    }
    this.deps.logger.info('resource deleted', { resourceId: id, filename: record.filename });
  }

  /**
   * Like `subscribe`, for every resource of an upload context: the current status of
   * each existing one at once, then every change (including resources created later).
   */
  async subscribeContext(contextId: string, listener: StatusListener): Promise<() => void> {
    const last = new Map<string, ResourceStatus>();
    const deliver = (status: ResourceStatus) => {
      if (!isStatusProgress(last.get(status.id), status)) return;
      last.set(status.id, status);
      listener(status);
    };
    const readAll = async () => {
      let after: string | undefined;
      for (;;) {
        const batch = await this.catalog.list({ contextId, after, limit: 500 });
        if (batch.length === 0) break;
        after = batch[batch.length - 1]?.id;
        for (const record of batch) deliver(this.activeUpload(record.id)?.status ?? statusOf(record));
      }
    };
    const unsubscribe = await this.deps.bus.subscribe<ResourceStatus>(contextChannel(contextId), deliver, () => {
      readAll().catch((err: Error) => this.deps.logger.warn('context status not re-read', { contextId, error: err.message }));
    });
    try {
      await readAll();
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  /**
   * Uploads that were open when the process stopped are recovered (`recoverOne`). In a
   * cluster, those a live node is writing are left alone (their lease is held).
   */
  private async recover(): Promise<void> {
    for (const state of [TransferState.INITIATED, TransferState.IN_PROGRESS]) {
      let cursor: string | undefined;
      for (;;) {
        const batch = await this.catalog.list({ state, after: cursor, limit: 500 });
        if (batch.length === 0) break;
        cursor = batch[batch.length - 1]?.id;
        for (const record of batch) await this.recoverOne(record);
      }
    }
  }

  /**
   * An upload whose writer is gone (this process stopped, or its node died) keeps its
   * bytes. Visible on write, every byte the file holds may have been seen: the catalog
   * grows to them (lines past the checkpoint recounted, index entries added) so no reader
   * ever sees a size go backwards. Visible at checkpoints (a shared bus), bytes past the
   * last one were never visible: they are cut, so catalog and store agree. If the store
   * holds less than the catalog claims (machine crash before the OS wrote them), the
   * catalog is clamped down to the bytes that exist. Resumable uploads stay IN_PROGRESS
   * for their writer to resume; the others are FAILED.
   */
  private async recoverOne(record: ResourceRecord): Promise<void> {
    const { catalog } = this;
    const { store, logger } = this.deps;
    const lease = await this.leases.tryAcquire(record.id);
    if (!lease) return;
    try {
      const current = await catalog.get(record.id);
      if (!current || isTerminal(current.state)) return;
      let { size, newlines } = current;
      const stored = await store.size(current.id);
      if (stored < size) {
        size = stored;
        newlines = current.supportsLineAccess ? await this.countNewlines(current.id, size) : 0;
        await catalog.truncate(current.id, size, newlines, newlines);
      } else if (stored > size && this.options.visibleOnWrite) {
        newlines = await this.recordTail(current, stored, lease.token);
        size = stored;
      }
      // Opening a fenced writer at the size cuts what lies past it (and ends a dead writer's segment there).
      if (stored > size || lease.token !== undefined) await (await store.openWriter(current.id, { at: size, fence: lease.token })).close();
      if (current.resumable) {
        // Stays IN_PROGRESS: its writer may resume within the grace period (the sweeper fails it after).
        logger.info('interrupted upload may be resumed', { resourceId: current.id, size });
        return;
      }
      await this.failDetached({ ...current, size, newlines }, 'Server stopped during upload');
      logger.warn('marked interrupted upload FAILED', { resourceId: current.id, size });
    } finally {
      await lease.release();
    }
  }

  /** Records the bytes past the last checkpoint (`record.size`) up to `stored`; returns the newline count. */
  private async recordTail(record: ResourceRecord, stored: number, fence: number | undefined): Promise<number> {
    const indexer = record.supportsLineAccess ? new LineIndexer(record.newlines) : undefined;
    if (indexer) {
      let offset = record.size;
      for await (const chunk of this.deps.store.createReadStream(record.id, record.size, stored) as AsyncIterable<Buffer>) {
        indexer.scan(chunk, offset);
        offset += chunk.length;
      }
    }
    const newlines = indexer?.newlines ?? 0;
    await this.catalog.checkpoint(record.id, {
      size: stored,
      newlines,
      lines: newlines,
      state: TransferState.IN_PROGRESS,
      indexEntries: indexer?.takeEntriesUpTo(stored) ?? [],
      fence,
    });
    this.deps.logger.info('recovered bytes written after the last checkpoint', { resourceId: record.id, from: record.size, to: stored });
    return newlines;
  }

  private async countNewlines(id: string, size: number): Promise<number> {
    let count = 0;
    for await (const chunk of this.deps.store.createReadStream(id, 0, size) as AsyncIterable<Buffer>) {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) count++;
    }
    return count;
  }

  private checkpointAll(): void {
    for (const session of this.active.values()) {
      session.checkpoint().catch((err: Error) => {
        // A session that failed has reported it (and ended) itself.
        if (session.isOpen) this.deps.logger.error('checkpoint failed', { resourceId: session.id, error: err.message });
      });
    }
  }

  /** Registers a resource (INITIATED) and returns its writer. Validates the metadata. */
  async createUpload(metadata: unknown, options: CreateUploadOptions = {}): Promise<UploadSession> {
    const { maxActiveUploads } = this.options;
    if (maxActiveUploads > 0 && this.active.size >= maxActiveUploads) {
      throw new QuotaExceededError(`Too many uploads in progress (limit ${maxActiveUploads})`, { limit: maxActiveUploads });
    }
    const { record, lease } = await this.register(metadata, options);
    const session = await this.attachWriter(record, lease, { checksums: checksumAlgorithms(options.checksum) });
    this.deps.logger.info('upload created', { resourceId: record.id, filename: record.filename, contextId: record.contextId });
    await this.publish(record, session.status);
    return session;
  }

  /**
   * Stores a resource whose bytes are all known and small (a blob of a stream upload):
   * registered, stored and recorded COMPLETED in one call, without an UploadSession (no
   * timers, no queue, no hashes: checksums as `checksum: false`) and with one status
   * published. Followers see it only once COMPLETED. Up to `inlineMaxBytes` its bytes go
   * into its catalog row (`storeWholeMany`); larger, into the byte store (made durable
   * as `syncOnCheckpoint` says): if writing or recording fails, the resource is deleted and
   * the error thrown — nothing half-stored stays. NAME_TAKEN like `createUpload`.
   */
  async storeWhole(metadata: unknown, options: StoreWholeOptions, bytes: Buffer): Promise<ResourceRecord> {
    if (bytes.length <= this.inlineMaxBytes) {
      const { records, refused } = await this.storeWholeMany([{ metadata, options, bytes }], options);
      if (refused) throw refused;
      return records[0] as ResourceRecord;
    }
    const { record, lease } = await this.register(metadata, options);
    const { store, logger } = this.deps;
    let completed: ResourceRecord;
    try {
      const writer = await store.openWriter(record.id, { at: 0, fence: lease.token });
      try {
        if (bytes.length > 0) await writer.append([bytes]);
        if (this.options.syncOnCheckpoint) await writer.sync();
      } finally {
        await writer.close().catch(() => undefined);
      }
      completed = await this.catalog.checkpoint(record.id, {
        size: bytes.length,
        newlines: 0,
        lines: 0,
        state: TransferState.COMPLETED,
        checksum: null,
        error: null,
        indexEntries: [],
        fence: lease.token,
      });
    } catch (err) {
      logger.warn('storing a whole resource failed', { resourceId: record.id, error: (err as Error).message });
      await this.delete(record.id).catch(() => undefined);
      throw err;
    } finally {
      await lease.release();
    }
    logger.debug('resource stored whole', { resourceId: record.id, size: bytes.length });
    await this.publish(completed, statusOf(completed));
    return completed;
  }

  /**
   * Stores many small resources whose bytes are all known (the blobs of a stream upload)
   * in one catalog transaction, each COMPLETED with its bytes in its catalog row: no file,
   * no writer, no lease (born complete, no recovery can find them half-written). In order,
   * up to the first whose name is taken: that one and the rest are not stored, and the
   * refusal (NAME_TAKEN) is returned with the records stored before it. Every one must be
   * at most `inlineMaxBytes` (INVALID_METADATA otherwise: a caller's bug); each publishes
   * its COMPLETED status.
   */
  async storeWholeMany(uploads: readonly WholeUpload[], naming: { uniqueName?: NameUniqueness | undefined } = {}): Promise<CreatedWhole> {
    const resources = uploads.map(({ metadata, options, bytes }) => {
      if (bytes.length > this.inlineMaxBytes) {
        throw new InvalidMetadataError(
          `A resource stored in the catalog is at most ${this.inlineMaxBytes} bytes (inlineMaxBytes), not ${bytes.length}`,
        );
      }
      return { resource: this.newResource(metadata, options), bytes };
    });
    const created = await this.catalog.createWhole(resources, { uniqueName: naming.uniqueName ?? 'live' });
    for (const record of created.records) await this.publish(record, statusOf(record));
    return created;
  }

  /** Largest resource whose bytes `storeWhole` keeps in the catalog. */
  get inlineMaxBytes(): number {
    return this.options.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
  }

  /**
   * The bytes of the inline resources (`ResourceRecord.inline`) among `ids`, in one catalog
   * query: many small resources read at once (a blob stream download). Ids unknown, deleted
   * or not inline are absent; read those with `openRange`.
   */
  readInline(ids: readonly string[]): Promise<Map<string, Buffer>> {
    return this.catalog.readInline(ids);
  }

  /** Validates the metadata and records a new resource (INITIATED) under its writer's lease. */
  private async register(metadata: unknown, options: CreateUploadOptions): Promise<{ record: ResourceRecord; lease: WriterLease }> {
    const resource = this.newResource(metadata, options);
    // Held before the resource exists: a node recovering at that moment must not take it for an orphan.
    const lease = await this.leases.acquire(resource.id);
    const record = await this.catalog.create(resource, { uniqueName: options.uniqueName ?? 'live' }).catch(async (err: unknown) => {
      await lease.release();
      throw err;
    });
    return { record, lease };
  }

  /** A new resource (fresh id) from validated metadata and its options: INVALID_METADATA, INVALID_NAME otherwise. */
  private newResource(metadata: unknown, options: CreateUploadOptions): NewResource {
    const parsed = ResourceMetadataSchema.safeParse(metadata);
    if (!parsed.success) throw new InvalidMetadataError(`Invalid metadata: ${describeZodError(parsed.error)}`);
    return {
      ...parsed.data,
      id: uuidv7(),
      name: options.name ? validateResourceName(options.name) : null,
      attributes: options.attributes ?? {},
      contextId: options.contextId ?? null,
      resumable: options.resumable ?? false,
      writeTokenHash: options.writeTokenHash ?? null,
      readTokenHash: options.readTokenHash ?? null,
    };
  }

  /**
   * Re-opens the writer of an IN_PROGRESS resource whose previous writer was released
   * (or lost). `offset`, when given, must equal the visible size: the tus model — a write
   * at any other offset changes nothing and fails with OFFSET_MISMATCH.
   */
  async resumeUpload(id: string, offset?: number, options: ResumeUploadOptions = {}): Promise<UploadSession> {
    // Claim the writer slot before any await so two resumes cannot both win.
    if (this.active.has(id) || this.resuming.has(id)) throw new WriterConflictError(id);
    if (this.deleting.has(id)) throw new ResourceDeletedError(id);
    const opening = this.reopenWriter(id, offset, options);
    this.resuming.set(id, opening);
    try {
      return await opening;
    } finally {
      this.resuming.delete(id);
    }
  }

  private async reopenWriter(id: string, offset: number | undefined, options: ResumeUploadOptions): Promise<UploadSession> {
    await this.getRecord(id); // unknown: RESOURCE_NOT_FOUND before any lease
    const lease = await this.leases.acquire(id);
    try {
      // Read again under the lease: the previous writer may have checkpointed until it lost it.
      let record = await this.getRecord(id);
      if (isTerminal(record.state)) throw new ResourceTerminalError(id, record.state);
      record = await this.keepUnrecordedTail(record, lease);
      if (offset !== undefined && offset !== record.size) throw new OffsetMismatchError(id, record.size, offset);
      const checksums = checksumAlgorithms(options.checksum);
      // Nothing stored yet: hash as the bytes arrive rather than re-reading them at finish.
      const session = await this.attachWriter(record, lease, record.size === 0 ? { checksums } : { resumed: true, checksums });
      this.deps.logger.info('upload resumed', { resourceId: id, offset: record.size, lease: lease.token });
      return session;
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  /**
   * A takeover from a writer on another node that died (or lost its lease) after bytes it
   * showed but before its next checkpoint: readers on every node may have seen them
   * (visible on write), so they are recorded and kept, as a restart keeps them
   * (`recoverOne`). Under this lease no stale writer can add to them any more.
   */
  private async keepUnrecordedTail(record: ResourceRecord, lease: WriterLease): Promise<ResourceRecord> {
    if (lease.token === undefined || !this.options.visibleOnWrite) return record;
    const stored = await this.deps.store.size(record.id);
    if (stored <= record.size) return record;
    await this.recordTail(record, stored, lease.token);
    return this.getRecord(record.id);
  }

  /** The checksums of everything stored for `id`, read back from storage (finish of a resumed upload). */
  private async hashStored(id: string, algorithms: readonly ChecksumAlgorithm[]): Promise<Checksums> {
    const crc32 = algorithms.includes('crc32') ? new Crc32() : undefined;
    const hashes = algorithms.filter((a) => a !== 'crc32').map((a) => [a, new OffThreadHash(a)] as const);
    try {
      const size = await this.deps.store.size(id);
      for await (const chunk of this.deps.store.createReadStream(id, 0, size) as AsyncIterable<Buffer>) {
        crc32?.update(chunk);
        for (const [, hash] of hashes) if (!hash.update(chunk)) await once(hash, 'drain');
      }
      const out: Checksums = crc32 ? { crc32: crc32.hex() } : {};
      for (const [algorithm, hash] of hashes) out[algorithm] = await hash.digest();
      return out;
    } finally {
      for (const [, hash] of hashes) hash.destroy();
    }
  }

  /**
   * Hands out the writer of `record` under `lease`: the store opens it at the visible size
   * (bytes past it were never acknowledged to anyone: cut), and every append and
   * checkpoint carries the lease's fencing token. The lease goes back when the writer
   * detaches; if it is lost meanwhile (another node took the resource over), the session
   * stops without recording or publishing anything.
   */
  private async attachWriter(
    record: ResourceRecord,
    lease: WriterLease,
    how: { resumed?: boolean; checksums: readonly ChecksumAlgorithm[] },
  ): Promise<UploadSession> {
    const { catalog } = this;
    const { store, logger } = this.deps;
    const writer = await store.openWriter(record.id, { at: record.size, fence: lease.token });
    let resumeFrom: UploadSessionDeps['resumeFrom'];
    try {
      if (how.resumed) {
        const lastByte = record.size > 0 ? (await store.read(record.id, record.size - 1, record.size))[0] : undefined;
        resumeFrom = { lastByte };
      }
    } catch (err) {
      await writer.close().catch(() => undefined);
      throw err;
    }
    const session: UploadSession = new UploadSession({
      record,
      writer,
      catalog,
      fence: lease.token,
      publish: (status) => (isTerminal(status.state) ? this.publishEnd(session, record, status) : this.publish(record, status)),
      ...(this.deps.metrics ? { metrics: this.deps.metrics } : {}),
      limits: this.options,
      logger,
      onClosed: (s) => {
        if (this.active.get(s.id) === s) this.active.delete(s.id);
        // Awaited: a resume elsewhere right after `release` resolves must find the lease free.
        return lease.release();
      },
      checksums: how.checksums,
      hashStored: (algorithms) => this.hashStored(record.id, algorithms),
      ...(resumeFrom ? { resumeFrom } : {}),
    });
    lease.onLost(() => session.leaseLost());
    this.active.set(record.id, session);
    return session;
  }

  /**
   * The terminal status of an upload whose writer has already been detached: followers at
   * the tail still get its last bytes from memory, not a thousand reads of the file.
   */
  private async publishEnd(session: UploadSession, record: ResourceRecord, status: ResourceStatus): Promise<void> {
    this.ending.set(record.id, session);
    try {
      await this.publish(record, status);
    } finally {
      if (this.ending.get(record.id) === session) this.ending.delete(record.id);
    }
  }

  /**
   * Tells every subscriber, on every node. The catalog already has it: a bus that fails
   * (a shared one whose engine is away) is logged, not the upload's failure; subscribers
   * re-read the status when their bus comes back (`onGap`).
   */
  private async publish(record: ResourceRecord, status: ResourceStatus): Promise<void> {
    const { bus, logger, metrics } = this.deps;
    try {
      const started = performance.now();
      await bus.publish(resourceChannel(record.id), status);
      if (record.contextId) await bus.publish(contextChannel(record.contextId), status);
      metrics?.fannedOut((performance.now() - started) / 1000);
    } catch (err) {
      logger.warn('status not published', { resourceId: record.id, error: (err as Error).message });
    }
  }

  /**
   * The resource a reference names: an id, or a name (the live resource holding it, else
   * the newest that had it). RESOURCE_NOT_FOUND if none.
   */
  async resolve(ref: string): Promise<ResourceRecord> {
    if (looksLikeId(ref)) return this.getRecord(ref);
    const record = await this.deps.catalog.findByName(ref);
    if (!record) throw new ResourceNotFoundError(ref);
    return record;
  }

  /** What each of many names refers to (as `resolve` for a name), in brief, in one catalog query; names of nothing are absent. */
  findNamed(names: readonly string[]): Promise<Map<string, NamedResource>> {
    return this.catalog.findNamed(names);
  }

  /** Replaces a resource's attributes. */
  setAttributes(id: string, attributes: Record<string, string>): Promise<ResourceRecord> {
    return this.deps.catalog.setAttributes(id, attributes);
  }

  /** Count and visible bytes of the resources whose names start with `nameStartsWith` (quotas). */
  usage(nameStartsWith: string): Promise<Usage> {
    return this.deps.catalog.usage(nameStartsWith);
  }

  async getRecord(id: string): Promise<ResourceRecord> {
    const record = await this.catalog.get(id);
    if (!record) throw new ResourceNotFoundError(id);
    return record;
  }

  async getStatus(id: string): Promise<ResourceStatus> {
    const local = this.activeUpload(id)?.status;
    if (local) return local;
    return this.withHeard(statusOf(await this.getRecord(id)));
  }

  /** The catalog's status of an upload another node writes, or the newer one heard from the bus. */
  private withHeard(recorded: ResourceStatus): ResourceStatus {
    const heard = this.heard.touch(recorded.id);
    // The catalog's terminal state is final; an open upload may be ahead of its checkpoint.
    if (!heard || isTerminal(recorded.state) || heard.size <= recorded.size) return recorded;
    return { ...recorded, size: heard.size, lines: heard.lines };
  }

  /** Remembers the newest status of an upload another node writes (bounded: least recently used go). */
  private hear(status: ResourceStatus): void {
    if (this.active.has(status.id) || this.ending.has(status.id)) return;
    if (isTerminal(status.state)) {
      this.heard.delete(status.id);
      return;
    }
    const known = this.heard.get(status.id);
    if (known && known.size >= status.size) return;
    this.heard.delete(status.id);
    this.heard.set(status.id, status);
    this.heard.evictBeyond(HEARD_STATUSES);
  }

  /** The writer of `id` if it is attached in this process. */
  activeUpload(id: string): UploadSession | undefined {
    return this.active.get(id);
  }

  list(filter?: ListFilter): Promise<ResourceRecord[]> {
    return this.catalog.list(filter);
  }

  /**
   * Calls `listener` with the current status at once, then with every later one, in
   * order and never backwards (a slow bus may drop intermediate ones, never reorder).
   */
  async subscribe(id: string, listener: StatusListener): Promise<() => void> {
    let last: ResourceStatus | undefined;
    const forward = (status: ResourceStatus) => {
      if (!isStatusProgress(last, status)) return;
      last = status;
      listener(status);
    };
    // An upload written on another node: its new bytes are read into this node's window
    // once, before any follower here hears of them (they then read them from memory).
    const deliver = (status: ResourceStatus) => {
      const ready = this.remoteTails.prepare(status);
      const show = (held = true) => {
        // An end is always shown (a deleted resource's bytes are gone); a size only if its bytes are stored.
        if (!held && !isTerminal(status.state)) return;
        this.hear(status);
        forward(status);
      };
      if (ready) void ready.then(show);
      else show();
    };
    // After a gap of the bus: the status now, or the end of a resource deleted meanwhile.
    const reread = () => {
      this.getStatus(id).then(deliver, (err: unknown) => {
        if (last && err instanceof ResourceNotFoundError) deliver({ ...last, state: TransferState.FAILED, error: DELETED_REASON });
        else this.deps.logger.warn('status not re-read', { resourceId: id, error: (err as Error).message });
      });
    };
    this.remoteTails.retain(id);
    let unsubscribe: () => void;
    try {
      // Subscribe before reading the current status so nothing falls between the two.
      unsubscribe = await this.deps.bus.subscribe<ResourceStatus>(resourceChannel(id), deliver, reread);
    } catch (err) {
      this.remoteTails.release(id);
      throw err;
    }
    const stop = () => {
      unsubscribe();
      this.remoteTails.release(id);
    };
    try {
      deliver(await this.getStatus(id));
    } catch (err) {
      stop();
      throw err;
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      stop();
    };
  }

  /** Streams bytes `[start, end)`; `end` must be within the visible size. */
  async openRange(id: string, start: number, end: number): Promise<Readable> {
    const stored = await this.checkRange(id, start, end);
    if (stored?.inline) return Readable.from([await this.inlineRange(id, start, end)]);
    // Followers at the tail read what was just written: from memory, not one file read each.
    const recent = this.recentBytes(id, start, end);
    if (recent) return Readable.from(recent);
    return this.deps.store.createReadStream(id, start, end);
  }

  /**
   * Bytes `[start, end)` for a follower or request/reply reader that may be far behind
   * the tail: from memory when the upload still has them, else from storage in pieces
   * whose reads are scheduled after ingest and whose size shares a memory budget among
   * every such reader (`CatchUpReads`). Pull the next piece once the previous one is sent.
   * `pace`: one per connection, so its piece size carries from one range to the next.
   */
  async openCatchUp(id: string, start: number, end: number, pace?: CatchUpPace): Promise<AsyncIterable<Buffer>> {
    const stored = await this.checkRange(id, start, end);
    if (stored?.inline) return Readable.from([await this.inlineRange(id, start, end)]);
    const recent = this.recentBytes(id, start, end);
    if (recent) return Readable.from(recent);
    return this.catchUp.pieces(start, end, (from, to) => this.deps.store.read(id, from, to), pace);
  }

  /**
   * Bytes `[start, end)` in one buffer, like `openRange` but without a stream: for small
   * ranges only (a blob's tag, a small blob), whose stream would cost more than the read.
   */
  async read(id: string, start: number, end: number): Promise<Buffer> {
    const stored = await this.checkRange(id, start, end);
    if (stored?.inline) return this.inlineRange(id, start, end);
    const recent = this.recentBytes(id, start, end);
    if (recent) return Buffer.concat(recent);
    return this.deps.store.read(id, start, end);
  }

  /** Bytes `[start, end)` of an inline resource (RESOURCE_NOT_FOUND once deleted). */
  private async inlineRange(id: string, start: number, end: number): Promise<Buffer> {
    const bytes = (await this.catalog.readInline([id])).get(id);
    if (!bytes) throw new ResourceNotFoundError(id);
    return bytes.subarray(start, end);
  }

  /** Bytes `[start, end)` of a resource, wherever they are kept (`[start, end)` within what it holds). */
  private readStored(record: ResourceRecord, start: number, end: number): Promise<Buffer> {
    return record.inline ? this.inlineRange(record.id, start, end) : this.deps.store.read(record.id, start, end);
  }

  /**
   * INVALID_RANGE unless `[start, end)` is within the visible bytes of `id`. Returns its
   * catalog record when no upload in this process writes it (the record the check used).
   */
  private async checkRange(id: string, start: number, end: number): Promise<ResourceRecord | undefined> {
    const upload = this.activeUpload(id);
    const record = upload ? undefined : await this.getRecord(id);
    const status = upload?.status ?? this.withHeard(statusOf(record as ResourceRecord));
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > status.size) {
      throw new InvalidRangeError(`Range [${start}, ${end}) is not within [0, ${status.size}] of resource ${id}`, {
        start,
        end,
        size: status.size,
      });
    }
    return record;
  }

  /**
   * Bytes `[start, end)` of an upload in progress here — or followed here and written on
   * another node (`RemoteTails`) — if they are visible and still in its window of newest
   * bytes; else undefined (use `openRange`). Synchronous, and every
   * caller asking for the same range gets the same buffers: never modify them.
   */
  recentBytes(id: string, start: number, end: number): readonly Buffer[] | undefined {
    const upload = this.activeUpload(id) ?? this.ending.get(id);
    if (!upload) return this.remoteTails.read(id, start, end);
    if (start < 0 || end > upload.status.size) return undefined;
    return upload.recentBytes(start, end);
  }

  /**
   * Lines `[start, start + count)` as raw bytes, each keeping its `\n` (a last
   * unterminated line of a terminal resource has none). Served from the sparse line
   * index: at most LINE_INDEX_STRIDE lines are scanned before the first one returned.
   */
  async readLines(id: string, start: number, count: number): Promise<Buffer[]> {
    return (await this.readLinePage(id, start, count)).lines;
  }

  /**
   * {@link readLines}, with the page's byte offsets: where its first line starts and
   * where its last one ends (both the start of line `start` for an empty page) — so a
   * reader can fetch or follow the bytes from there (`tail -n N -f`).
   */
  async readLinePage(id: string, start: number, count: number): Promise<LinePageBytes> {
    const record = await this.getRecord(id);
    if (!record.supportsLineAccess) throw new LineAccessUnsupportedError(id);
    const status = this.activeUpload(id)?.status ?? statusOf(record);
    const available = status.lines ?? 0;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > available) {
      throw new LinesOutOfRangeError(`Lines [${start}, ${start + count}) are not within the ${available} lines of resource ${id}`, {
        start,
        count,
        lines: available,
      });
    }
    const { catalog } = this.deps;
    const block = Math.floor(start / LINE_INDEX_STRIDE);
    // Lines visible before a checkpoint recorded their index entries: the upload has them.
    const blockAt = (b: number) => this.activeUpload(id)?.lineBlockOffset(b) ?? catalog.lineBlockOffset(id, b);
    const blockOffset = await blockAt(block);
    if (blockOffset === undefined) throw new LinesOutOfRangeError(`Line index of ${id} has no block ${block}`);
    // The index entry after the page's last line bounds the bytes to scan; past the last
    // entry, the visible end does.
    const endOffset = await blockAt(Math.ceil((start + count) / LINE_INDEX_STRIDE));
    const limit = Math.min(status.size, endOffset ?? status.size);
    // A span of ordinary lines is read at once; huge lines are scanned in steps, bounding memory.
    const step = limit - blockOffset <= LINE_SPAN_READ_MAX_BYTES ? limit - blockOffset : LINE_SCAN_BYTES;
    const page = new LinePage(start - block * LINE_INDEX_STRIDE, count, this.options.maxLinesReplyBytes, blockOffset);
    for (let offset = blockOffset; !page.full && offset < limit; ) {
      const chunk = await this.readStored(record, offset, Math.min(limit, offset + step));
      offset += chunk.length;
      page.add(chunk);
    }
    const lines = page.finish(isTerminal(status.state));
    // Line `start` exists (start <= available), so the scan passed every skipped line; an
    // empty page at the very end of a resource ending without \n starts at its size.
    const startOffset = page.startOffset ?? status.size;
    return { lines, startOffset, endOffset: page.endOffset ?? startOffset };
  }

  /**
   * Whether the catalog and the byte storage answer (readiness): one cheap read of each.
   * Resolves with what failed, if anything.
   */
  async probe(): Promise<{ catalog?: string; storage?: string }> {
    const failed: { catalog?: string; storage?: string } = {};
    const unknownId = '00000000-0000-7000-8000-000000000000';
    await Promise.all([
      this.deps.catalog.get(unknownId).catch((err: Error) => {
        failed.catalog = err.message;
      }),
      this.deps.store.size(unknownId).catch((err: Error) => {
        failed.storage = err.message;
      }),
    ]);
    return failed;
  }

  get activeUploads(): number {
    return this.active.size;
  }

  /** Final checkpoint of every open upload (left IN_PROGRESS for recovery), then close. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    if (this.sweeper) clearInterval(this.sweeper);
    await this.sweeping;
    await Promise.allSettled([...this.active.values()].map((s) => s.checkpoint()));
    // Last chance for ends a full disk deferred; what still fails, recovery redoes at the next start.
    await this.catalog.recordDeferred().catch(() => undefined);
    await this.leases.close();
    await this.deps.bus.close();
    await this.catalog.close();
    await this.deps.store.close();
  }
}
