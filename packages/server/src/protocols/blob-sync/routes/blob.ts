import {
  BLOB_FLAGS,
  BLOB_TAG_BYTES,
  type BlobFlag,
  blobTag,
  ErrorCode,
  InvalidRangeError,
  MAX_STREAM_BLOB_BYTES,
  toSpoolError,
} from '@spool/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { PumpLimit } from '../../../transport/http/body-pump.js';
import { pumpRequestBody } from '../../../transport/http/body-pump.js';
import { ifRangeAllows, isNotModified, lastModifiedHeader, validatorsFor } from '../../../transport/http/conditional.js';
import { refuseContentEncoding } from '../../../transport/http/content-encoding.js';
import { parseRange, type RangeRequest, startRangeAnswer } from '../../../transport/http/range.js';
import { acceptBody, declaredLength } from '../../../transport/http/request-body.js';
import { parseFlag, queryParam } from '../../../transport/http/request-params.js';
import { copyToResponse } from '../../../transport/http/stream-copy.js';
import { readJsonBody } from '../../shared/http/json-body.js';
import { bodyTimeouts, uploadBudget } from '../../shared/http/upload-budget.js';
import { blobRefOf } from '../blob-names.js';
import { blobExists, RESOURCE_ID_HEADER } from '../blob-space.js';
import { type BlobContext, SMALL_BLOB_BYTES } from '../context.js';
import { BlobError, invalidRequest } from '../errors.js';
import { quotaExceeded } from '../quota.js';

/** The header carrying a blob's tag (base64url of its last 16 bytes), as in the original. */
export const TAG_HEADER = 'Tag';

/**
 * Largest blob: what any HTTP body may bring (httpMaxBodyBytes, maxResourceBytes) and at
 * most 4 GiB − 1, the most a stream record's 8 hex digits can state — a blob that could
 * not be streamed is not stored.
 */
export function blobSizeLimit(config: BlobContext['config']): PumpLimit {
  const upload = uploadBudget(config, 0);
  if (upload.room <= MAX_STREAM_BLOB_BYTES) return upload;
  return {
    room: MAX_STREAM_BLOB_BYTES,
    tooLarge: () =>
      new BlobError(
        413,
        'BlobTooLarge',
        ErrorCode.MESSAGE_TOO_LARGE,
        `Blobs are at most ${MAX_STREAM_BLOB_BYTES} bytes: the stream format states sizes in 8 hex digits`,
        { limit: MAX_STREAM_BLOB_BYTES },
      ),
  };
}

/**
 * `PUT <base>blobs/{user}/{id}?namespace=`: stores the body as a new blob, streamed into
 * its resource (followable by its id, `Spool-Resource-Id`, while it arrives). 200 once
 * COMPLETED; 409 if the id exists; 507 over the user's quota (declared length: before any
 * byte); 413 over the size limits. An interrupted body stores nothing: the blob is FAILED
 * for its followers, then deleted.
 */
export function putBlob(ctx: BlobContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const blob = blobRefOf(req);
    refuseContentEncoding(req);
    const declared = declaredLength(req);
    const limit = blobSizeLimit(ctx.config);
    if (declared !== undefined && declared > limit.room) throw limit.tooLarge();
    if (await ctx.space.find(blob)) throw blobExists([blob.id]);
    const reservation = await ctx.quota.reserve(blob.user, declared);
    try {
      const session = await ctx.space.create(blob);
      const quota: PumpLimit = {
        room: reservation.room,
        tooLarge: () => quotaExceeded(blob.user, ctx.config.blobQuotaBytes, ctx.config.blobQuotaBytes - reservation.room, undefined),
      };
      try {
        acceptBody(req, res);
        const budget = quota.room < limit.room ? quota : limit;
        await pumpRequestBody(req, session, { ...budget, ...bodyTimeouts(ctx.config) }).done;
        await session.finish();
      } catch (err) {
        await ctx.space.discard(session, toSpoolError(err).message);
        throw err;
      }
      res.setHeader(RESOURCE_ID_HEADER, session.id);
      res.setHeader('Cache-Control', 'no-store');
      res.status(200).end();
    } finally {
      reservation.release();
    }
  };
}

/**
 * `GET|HEAD <base>blobs/{user}/{id}?namespace=`: the blob's bytes with its `Tag`, RFC 9110
 * single ranges (inclusive end; the original's was exclusive) and validators; with
 * `?only_flags=true` its flags as a JSON list instead.
 */
export function getBlob(ctx: BlobContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const blob = blobRefOf(req);
    const record = await ctx.space.stored(blob);
    if (parseFlag(queryParam(req, 'only_flags'), 'only_flags')) {
      res.setHeader('Cache-Control', 'no-store');
      res.json(ctx.space.flags(record));
      return;
    }
    const size = record.size;
    const validators = validatorsFor(record.id, record.checksum, record.completedAt);
    const range: RangeRequest = ifRangeAllows(req, validators) ? parseRange(req.headers.range, size) : { kind: 'none' };
    if (range.kind === 'unsatisfiable') {
      throw new InvalidRangeError(`Range ${req.headers.range} is not within the ${size} bytes of blob ${blob.id}`, { size });
    }
    // A small blob is read once, whole: its tag and its bytes from the same read.
    const whole = size <= SMALL_BLOB_BYTES ? await ctx.core.read(record.id, 0, size) : undefined;
    res.setHeader(TAG_HEADER, blobTag(whole ?? (await ctx.core.read(record.id, size - BLOB_TAG_BYTES, size))));
    res.setHeader(RESOURCE_ID_HEADER, record.id);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Accept-Ranges', 'bytes');
    if (validators) {
      res.setHeader('ETag', validators.etag);
      res.setHeader('Last-Modified', lastModifiedHeader(validators));
      res.setHeader('Cache-Control', 'no-cache');
    }
    if (isNotModified(req, validators)) {
      res.status(304).end();
      return;
    }
    const span = startRangeAnswer(req, res, range, size);
    if (!span) return;
    if (whole) {
      res.end(whole.subarray(...span));
      return;
    }
    // At the client's pace; a client that takes nothing for httpIdleTimeoutMs is cut, a storage error cuts the answer.
    await copyToResponse(await ctx.core.openRange(record.id, ...span), res, ctx.config.httpIdleTimeoutMs);
    res.end();
  };
}

/** `DELETE <base>blobs/{user}/{id}?namespace=`: 204, or 404. */
export function deleteBlob(ctx: BlobContext) {
  return async (req: Request, res: Response): Promise<void> => {
    await ctx.space.remove(blobRefOf(req));
    res.status(204).end();
  };
}

const FlagListSchema = z.array(z.string());

/**
 * `POST <base>blobs/{user}/{id}?namespace=` with a JSON list of flags: replaces the blob's
 * flags (kept in its resource's attributes). 406 for a flag outside PENDING, PROCESSING,
 * PROCESSED, FAILED.
 */
export function setBlobFlags(ctx: BlobContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const blob = blobRefOf(req);
    const record = await ctx.space.stored(blob);
    const flags = await readJsonBody(ctx, req, res, FlagListSchema, { anyContentType: true });
    if (flags === undefined) throw invalidRequest('Expected a JSON list of flags, e.g. ["PROCESSED"]');
    const invalid = flags.filter((flag) => !(BLOB_FLAGS as readonly string[]).includes(flag));
    if (invalid.length > 0) {
      throw new BlobError(
        406,
        'InvalidFlag',
        ErrorCode.INVALID_MESSAGE,
        `Unknown flag ${invalid.map((flag) => JSON.stringify(flag.slice(0, 40))).join(', ')}: a blob's flags are ${BLOB_FLAGS.join(', ')}`,
        { allowed: [...BLOB_FLAGS] },
      );
    }
    await ctx.space.setFlags(record, [...new Set(flags as BlobFlag[])]);
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).end();
  };
}
