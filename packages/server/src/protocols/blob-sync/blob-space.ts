import { type BlobFlag, ErrorCode, SpoolError, TransferState } from '@spool/common';
import type { Logger } from 'winston';
import type { SpoolCore } from '../../core/spool-core.js';
import type { NamedResource, ResourceRecord } from '../../core/types.js';
import type { UploadSession } from '../../core/upload-session.js';
import { type BlobRef, type BlobSpaceRef, blobIn, blobResourceName, namespacePrefix } from './blob-names.js';
import { BlobError } from './errors.js';

/** A small blob whose bytes are all here (stored whole). */
export interface SmallBlob {
  id: string;
  bytes: Buffer;
}

/** Resources per catalog page (the catalog's largest). */
const PAGE = 1000;
/** The attribute keeping a blob's flags (a JSON array). */
const FLAGS_ATTRIBUTE = 'flags';
/** Header naming the core resource of a blob: the HTTP API and WebSocket protocols read and follow it by this id. */
export const RESOURCE_ID_HEADER = 'Spool-Resource-Id';

export function blobNotFound(ids: readonly string[], message: string, fields: Record<string, unknown> = {}): BlobError {
  return new BlobError(404, 'BlobNotFound', ErrorCode.RESOURCE_NOT_FOUND, message, { missing: [...ids], ...fields });
}

export function blobExists(ids: readonly string[]): BlobError {
  const what = ids.length === 1 ? `Blob ${ids[0]} already exists` : `${ids.length} blobs already exist`;
  return new BlobError(409, 'BlobExists', ErrorCode.NAME_TAKEN, `${what}: a blob id is stored once (DELETE it first)`, {
    existing: [...ids],
  });
}

function blobMetadata(blob: BlobRef) {
  return { filename: blob.id, mimeType: 'application/octet-stream', supportsLineAccess: false };
}

/** A name unique forever: a blob id is stored once, never reused. */
function blobOptions(blob: BlobRef) {
  return { name: blobResourceName(blob), uniqueName: 'always' as const };
}

/** `create`, with NAME_TAKEN told as the blob API's 409. */
async function refuseTaken<T>(blob: BlobRef, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (err instanceof SpoolError && err.code === ErrorCode.NAME_TAKEN) throw blobExists([blob.id]);
    throw err;
  }
}

/**
 * The blobs of every user as core resources (blob-names.ts): one resource per blob,
 * created with a name unique forever, binary (no line index), without an MD5 (blobs are
 * ciphertexts that carry their own tag). What is not COMPLETED is not a blob yet: an
 * upload that fails part-way is FAILED (its followers learn it) and then deleted, so its
 * id can be sent again.
 */
export class BlobSpace {
  constructor(
    private readonly core: SpoolCore,
    private readonly logger: Logger,
    /** Counts blobs by event (metrics: `spool_blob_sync_blobs_total`). */
    private readonly counted: (event: 'created' | 'discarded' | 'removed') => void = () => undefined,
  ) {}

  /** The resource of a blob, whatever its state, if any. */
  async find(blob: BlobRef): Promise<ResourceRecord | undefined> {
    try {
      return await this.core.resolve(blobResourceName(blob));
    } catch (err) {
      if (err instanceof SpoolError && err.code === ErrorCode.RESOURCE_NOT_FOUND) return undefined;
      throw err;
    }
  }

  /** Every resource of a namespace (any state), a catalog page (1,000) at a time, through the name index. */
  async *pages(space: BlobSpaceRef, order: 'asc' | 'desc' = 'asc'): AsyncGenerator<ResourceRecord[]> {
    const prefix = namespacePrefix(space);
    let after: string | undefined;
    for (;;) {
      const page = await this.core.list({ nameStartsWith: prefix, order, after, limit: PAGE });
      yield page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]?.id;
    }
  }

  /** The resources of many blobs of a namespace, by id, in brief: one catalog query. Ids of no resource are absent. */
  async findMany(space: BlobSpaceRef, ids: readonly string[]): Promise<Map<string, NamedResource>> {
    const byName = await this.core.findNamed(ids.map((id) => blobResourceName(blobIn(space, id))));
    const found = new Map<string, NamedResource>();
    for (const id of ids) {
      const named = byName.get(blobResourceName(blobIn(space, id)));
      if (named) found.set(id, named);
    }
    return found;
  }

  /** A stored blob; 404 otherwise — one still being uploaded too, naming the resource to follow it by. */
  async stored(blob: BlobRef): Promise<ResourceRecord> {
    const record = await this.find(blob);
    if (record?.state === TransferState.COMPLETED) return record;
    if (record) {
      throw blobNotFound([blob.id], `Blob ${blob.id} is still being uploaded: follow resource ${record.id} to read it as it arrives`, {
        resource: record.id,
      });
    }
    throw blobNotFound([blob.id], `No blob ${blob.id} in namespace ${blob.namespace}`);
  }

  /** Registers a blob and returns its writer; 409 if the id exists (in any state). */
  async create(blob: BlobRef): Promise<UploadSession> {
    const session = await refuseTaken(blob, () => this.core.createUpload(blobMetadata(blob), { ...blobOptions(blob), checksum: false }));
    // The server may end an upload on its own (storage failure, deletion) while nobody
    // writes: without a listener that 'error' would throw. Writers learn it from their calls.
    session.on('error', (err: Error) =>
      this.logger.warn('blob upload ended by the server', { resourceId: session.id, error: err.message }),
    );
    this.counted('created');
    return session;
  }

  /**
   * Stores a blob whose bytes are all here (a small blob of a stream upload) in one core
   * call: COMPLETED once it resolves, nothing stored if it rejects. 409 if the id exists.
   */
  storeWhole(blob: BlobRef, bytes: Buffer): Promise<ResourceRecord> {
    return refuseTaken(blob, () => this.core.storeWhole(blobMetadata(blob), blobOptions(blob), bytes));
  }

  /**
   * Stores many small blobs of one namespace whose bytes are all here, in one core call
   * (one catalog transaction, bytes inline): in order, up to the first whose id exists —
   * returned as the API's 409 (`refused`) with how many were stored before it.
   */
  async storeWholeMany(space: BlobSpaceRef, blobs: readonly SmallBlob[]): Promise<{ stored: number; refused?: BlobError }> {
    const { records, refused } = await this.core.storeWholeMany(
      blobs.map(({ id, bytes }) => {
        const blob = blobIn(space, id);
        return { metadata: blobMetadata(blob), options: { name: blobResourceName(blob) }, bytes };
      }),
      { uniqueName: 'always' },
    );
    const stored = records.length;
    return refused ? { stored, refused: blobExists([(blobs[stored] as SmallBlob).id]) } : { stored };
  }

  /** Ends an unfinished blob: FAILED with `reason` (followers learn it), then deleted (its id is free again). */
  async discard(session: UploadSession, reason: string): Promise<void> {
    this.counted('discarded');
    await session.fail(reason).catch(() => undefined);
    await this.core.delete(session.id).catch((err: unknown) => {
      if (err instanceof SpoolError && err.code === ErrorCode.RESOURCE_NOT_FOUND) return;
      this.logger.warn('deleting an unfinished blob failed', { resourceId: session.id, error: (err as Error).message });
    });
  }

  /** Deletes a blob (one being uploaded too: its upload ends); 404 if there is none. */
  async remove(blob: BlobRef): Promise<void> {
    const record = await this.find(blob);
    if (!record) throw blobNotFound([blob.id], `No blob ${blob.id} in namespace ${blob.namespace}`);
    await this.core.delete(record.id);
    this.counted('removed');
  }

  flags(record: ResourceRecord): BlobFlag[] {
    const stored = record.attributes[FLAGS_ATTRIBUTE];
    return stored === undefined ? [] : (JSON.parse(stored) as BlobFlag[]);
  }

  async setFlags(record: ResourceRecord, flags: readonly BlobFlag[]): Promise<void> {
    await this.core.setAttributes(record.id, { ...record.attributes, [FLAGS_ATTRIBUTE]: JSON.stringify(flags) });
  }
}
