import type { ServerResponse } from 'node:http';
import { BLOB_TAG_BYTES, BlobIdListSchema, blobRecordHeader, ErrorCode, MAX_STREAM_BLOB_BYTES, TransferState } from '@spool/common';
import type { Request, Response } from 'express';
import type { SpoolCore } from '../../../core/spool-core.js';
import { copyToResponse, drainedOrClosed } from '../../../transport/http/stream-copy.js';
import { readJsonBody } from '../../shared/http/json-body.js';
import type { BlobSpaceRef } from '../blob-names.js';
import { blobNotFound } from '../blob-space.js';
import { type BlobContext, SMALL_BLOB_BYTES } from '../context.js';
import { BlobError } from '../errors.js';

/** Reads ahead of the writer: at most this many blobs (refilled once half are written: inline ones read in one query per refill) … */
const READ_AHEAD_BLOBS = 256;
/** … and this many bytes of them. */
const READ_AHEAD_BYTES = 1024 * 1024;
/** Small records are joined into writes of about this size (one chunk of the chunked body each). */
const WRITE_BATCH_BYTES = 64 * 1024;

/** One blob to send: its resource and size, checked before the first byte is written. */
export interface PlannedBlob {
  readonly id: string;
  readonly resourceId: string;
  readonly size: number;
  /** Its bytes are in the catalog (`ResourceRecord.inline`): read with others in one query. */
  readonly inline: boolean;
}

/** What the writer gets per blob: the record header, then the bytes (small) or how to stream them. */
interface FetchedBlob {
  header: Buffer;
  bytes?: Buffer;
}

/**
 * Finds every requested blob before anything is written: 404 `BlobNotFound` with every
 * missing id (blobs still being uploaded count as missing), 400 for one too large for the
 * format (none can be stored through this API: defensive).
 */
export async function planDownload(ctx: BlobContext, space: BlobSpaceRef, ids: readonly string[]): Promise<PlannedBlob[]> {
  const plan: PlannedBlob[] = [];
  const missing = new Set<string>();
  const tooLarge: string[] = [];
  const records = await ctx.space.findMany(space, ids);
  for (const id of ids) {
    const record = records.get(id);
    if (record?.state !== TransferState.COMPLETED) missing.add(id);
    else if (record.size > MAX_STREAM_BLOB_BYTES) tooLarge.push(id);
    else plan.push({ id, resourceId: record.id, size: record.size, inline: record.inline });
  }
  if (missing.size > 0) {
    throw blobNotFound([...missing], `${missing.size} of the ${ids.length} requested blobs are not stored in namespace ${space.namespace}`);
  }
  if (tooLarge.length > 0) {
    throw new BlobError(
      400,
      'BlobTooLargeForStream',
      ErrorCode.MESSAGE_TOO_LARGE,
      `Blobs of 4 GiB or more cannot be streamed (8 hex digits): get them one by one`,
      { blobs: tooLarge },
    );
  }
  return plan;
}

/** Reads a blob's header (and, if small, its bytes) — the part fetched ahead of the writer. */
async function fetchBlob(core: SpoolCore, blob: PlannedBlob): Promise<FetchedBlob> {
  if (blob.size <= SMALL_BLOB_BYTES) {
    const bytes = await core.read(blob.resourceId, 0, blob.size);
    return { header: blobRecordHeader(blob.size, bytes), bytes };
  }
  const tail = await core.read(blob.resourceId, blob.size - BLOB_TAG_BYTES, blob.size);
  return { header: blobRecordHeader(blob.size, tail) };
}

/** A blob of `inline`, read by `core.readInline` with others (a blob deleted since the plan: an error). */
function inlineBlob(blob: PlannedBlob, inline: Map<string, Buffer>): FetchedBlob {
  const bytes = inline.get(blob.resourceId);
  if (bytes?.length !== blob.size) throw new Error(`Blob ${blob.id} was deleted while the stream was being sent`);
  return { header: blobRecordHeader(blob.size, bytes), bytes };
}

/** The inline blobs of one refill: one catalog query; `found` once it answered. */
interface InlineGroup {
  readonly query: Promise<Map<string, Buffer>>;
  found?: Map<string, Buffer>;
}

/** Remembers the query's answer once it came (a failed query is reported through `query` when its blob is taken). */
function inlineGroup(query: Promise<Map<string, Buffer>>): InlineGroup {
  const group: InlineGroup = { query };
  query.then(
    (found) => {
      group.found = found;
    },
    () => undefined,
  );
  return group;
}

/** A blob read ahead: its own fetch, or its place in an inline group's query. */
type Pending = { blob: PlannedBlob; fetched: Promise<FetchedBlob> } | { blob: PlannedBlob; group: InlineGroup };

/**
 * Fetches blobs ahead of the writer, bounded by count and bytes, so reads from storage
 * overlap the socket instead of alternating with it: refilled once half the window is
 * written, the inline blobs of a refill in one catalog query. Once that query answered,
 * its blobs are handed over without a promise each (thousands of tiny blobs: the promises
 * were a large share of the per-blob cost). A fetch that fails is reported when the
 * writer reaches that blob (never as an unhandled rejection).
 */
class ReadAhead {
  private readonly pending: Pending[] = [];
  private next = 0;
  private pendingBytes = 0;

  constructor(
    private readonly core: SpoolCore,
    private readonly plan: readonly PlannedBlob[],
  ) {}

  /** The next blob in order (call once per blob of the plan): at once if already read. */
  take(): FetchedBlob | Promise<FetchedBlob> {
    this.fill();
    const head = this.pending.shift() as Pending;
    this.pendingBytes -= weight(head.blob);
    this.fill();
    if ('fetched' in head) return head.fetched;
    const { blob, group } = head;
    return group.found ? inlineBlob(blob, group.found) : group.query.then((found) => inlineBlob(blob, found));
  }

  private fill(): void {
    if (this.pending.length > READ_AHEAD_BLOBS / 2 || this.pendingBytes > READ_AHEAD_BYTES / 2) return;
    const adding: PlannedBlob[] = [];
    while (
      this.next < this.plan.length &&
      (this.pending.length + adding.length === 0 ||
        (this.pending.length + adding.length < READ_AHEAD_BLOBS && this.pendingBytes < READ_AHEAD_BYTES))
    ) {
      const blob = this.plan[this.next++] as PlannedBlob;
      adding.push(blob);
      this.pendingBytes += weight(blob);
    }
    const inlineIds = adding.flatMap((blob) => (blob.inline ? [blob.resourceId] : []));
    const group = inlineIds.length > 0 ? inlineGroup(this.core.readInline(inlineIds)) : undefined;
    for (const blob of adding) {
      if (group && blob.inline) {
        this.pending.push({ blob, group });
        continue;
      }
      const fetched = fetchBlob(this.core, blob);
      fetched.catch(() => undefined);
      this.pending.push({ blob, fetched });
    }
  }
}

/** Bytes a fetched blob holds in memory until written. */
function weight(blob: PlannedBlob): number {
  return blob.size <= SMALL_BLOB_BYTES ? blob.size + BLOB_TAG_BYTES * 2 : BLOB_TAG_BYTES * 2;
}

/** Joins small writes into one chunk of the response; waits while the client's socket is full. */
class BatchedWriter {
  private parts: Buffer[] = [];
  private bytes = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly idleTimeoutMs: number,
  ) {}

  /** Queues `part`; true when the batch is full and should be flushed (kept synchronous: called twice per blob). */
  add(part: Buffer): boolean {
    this.parts.push(part);
    this.bytes += part.length;
    return this.bytes >= WRITE_BATCH_BYTES;
  }

  async flush(): Promise<void> {
    if (this.bytes === 0) return;
    const chunk = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    if (!this.res.write(chunk)) await drainedOrClosed(this.res, this.idleTimeoutMs);
  }
}

/**
 * Writes the records of `plan` in order (size, tag, space, bytes) at the client's pace:
 * reading from storage stops while its socket is full, so memory stays at the read-ahead
 * window whatever the count and sizes. Throws on a storage error (or a blob deleted
 * meanwhile): the response has begun, so the caller's error handling cuts it — the client
 * sees an aborted body, never a clean end. Returns early if the client goes away, or is
 * cut after taking nothing for `idleTimeoutMs` (httpIdleTimeoutMs).
 */
export async function writeBlobStream(
  core: SpoolCore,
  res: ServerResponse,
  plan: readonly PlannedBlob[],
  idleTimeoutMs: number,
): Promise<void> {
  const reader = new ReadAhead(core, plan);
  const out = new BatchedWriter(res, idleTimeoutMs);
  for (const blob of plan) {
    const next = reader.take();
    const fetched = next instanceof Promise ? await next : next;
    if (res.destroyed) return;
    out.add(fetched.header);
    if (fetched.bytes) {
      if (out.add(fetched.bytes)) await out.flush();
      continue;
    }
    await out.flush();
    const copied = await copyToResponse(await core.openRange(blob.resourceId, 0, blob.size), res, idleTimeoutMs);
    if (res.destroyed) return;
    if (copied !== blob.size) throw new Error(`Blob ${blob.id}: ${copied} of ${blob.size} bytes read`);
  }
  await out.flush();
  res.end();
}

/**
 * `POST <base>stream/{user}/?namespace=&direction=download` with a JSON list of ids: every
 * blob as a record, in the order asked (a repeated id is sent again). Checked whole first
 * (404 with the missing ids before any byte); then `200`, chunked.
 */
export async function streamDownload(ctx: BlobContext, req: Request, res: Response, space: BlobSpaceRef): Promise<void> {
  const ids = (await readJsonBody(ctx, req, res, BlobIdListSchema, { maxBytes: ctx.config.blobMaxListBytes, anyContentType: true })) ?? [];
  const plan = await planDownload(ctx, space, ids);
  ctx.logger.debug('blob stream download', { user: space.user, namespace: space.namespace, blobs: plan.length });
  res.status(200);
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Cache-Control', 'no-store');
  await writeBlobStream(ctx.core, res, plan, ctx.config.httpIdleTimeoutMs);
}
