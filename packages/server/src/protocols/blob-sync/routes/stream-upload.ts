import type { BlobUploadEntry } from '@spool/common';
import type { Request, Response } from 'express';
import { pumpRequestBody } from '../../../transport/http/body-pump.js';
import { refuseContentEncoding } from '../../../transport/http/content-encoding.js';
import { acceptBody } from '../../../transport/http/request-body.js';
import { bodyTimeouts, refuseDeclaredOverBudget, requestBudget } from '../../shared/http/upload-budget.js';
import type { BlobSpaceRef } from '../blob-names.js';
import { blobExists } from '../blob-space.js';
import { type BlobContext, SMALL_BLOB_BYTES } from '../context.js';
import { asBlobError } from '../errors.js';
import type { QuotaReservation } from '../quota.js';
import { blobSizeLimit } from './blob.js';
import { BlobUploadSink } from './upload-sink.js';

/** Blobs created ahead of their bytes, and blobs whose end is recorded while the next ones arrive. */
const PIPELINE_WINDOW = 16;

/**
 * Checks an upload's list before any blob is created: sizes within the limits (413),
 * no id already stored or being uploaded (409 with every such id), the total within the
 * user's quota (507, held until the upload ends).
 */
async function admit(ctx: BlobContext, space: BlobSpaceRef, entries: readonly BlobUploadEntry[]): Promise<QuotaReservation> {
  const limit = blobSizeLimit(ctx.config);
  if (entries.some(([, size]) => size > limit.room)) throw limit.tooLarge();
  // Many ids: the namespace read a page at a time, not one lookup per id.
  const found = await ctx.space.findMany(
    space,
    entries.map(([id]) => id),
  );
  const existing = entries.flatMap(([id]) => (found.has(id) ? [id] : []));
  if (existing.length > 0) throw blobExists([...new Set(existing)]);
  return ctx.quota.reserve(
    space.user,
    entries.reduce((total, [, size]) => total + size, 0),
  );
}

/**
 * `POST <base>stream/{user}/?namespace=&direction=upload`: the first line lists
 * `[id, size]`, the blobs' bytes follow; each goes straight into its resource as it
 * arrives (bounded memory, no temporary file) and is COMPLETED — readable, followable —
 * as soon as its last byte is in. 200 `{"stored": N}` once all are. Refused whole before
 * any blob is created: a malformed list (400), an existing id (409), over the quota (507).
 * A body shorter than declared: 400 `BlobTruncated` naming the blob, which is not stored
 * (FAILED, then deleted); longer: 400. Blobs complete before a failure stay stored; every
 * error says how many (`stored`, the first N of the list).
 */
export async function streamUpload(ctx: BlobContext, req: Request, res: Response, space: BlobSpaceRef): Promise<void> {
  refuseContentEncoding(req);
  const limit = requestBudget(ctx.config);
  refuseDeclaredOverBudget(req, limit);
  let reservation: QuotaReservation | undefined;
  const sink = new BlobUploadSink({
    blobs: ctx.space,
    space,
    maxListBytes: ctx.config.blobMaxListBytes,
    window: ctx.config.maxActiveUploads > 0 ? 0 : PIPELINE_WINDOW,
    // Small blobs are stored in batches with their bytes in the catalog: as large as it keeps.
    smallBlobBytes: Math.min(SMALL_BLOB_BYTES, ctx.core.inlineMaxBytes),
    admit: async (entries) => {
      reservation = await admit(ctx, space, entries);
    },
  });
  try {
    acceptBody(req, res);
    await pumpRequestBody(req, sink, { ...limit, ...bodyTimeouts(ctx.config) }).done;
    const stored = await sink.end();
    ctx.logger.debug('blob stream upload', { user: space.user, namespace: space.namespace, blobs: stored });
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).json({ stored });
  } catch (err) {
    const blobError = asBlobError(err);
    const stored = await sink.abort(blobError.message);
    throw blobError.with({ stored });
  } finally {
    reservation?.release();
  }
}
