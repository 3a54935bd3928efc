import { InvalidMessageError } from '@spool/common';
import type { Request, Response } from 'express';
import { refuseContentEncoding } from '../../../transport/http/content-encoding.js';
import { peekFirstChunk } from '../../../transport/http/peek-stream.js';
import { acceptBody, requestHasBody } from '../../../transport/http/request-body.js';
import { receiveBody } from '../../shared/http/receive-body.js';
import { openUpload } from '../../shared/http/sessions.js';
import { refuseDeclaredOverBudget, uploadBudget } from '../../shared/http/upload-budget.js';
import { expectedChecksumsOfBody, uploadChecksums } from '../checksum.js';
import { type HttpContext, refOf, respondWithResource } from '../context.js';
import { describeUpload, metadataOf, type UploadDescription, uploadCompleteFlag } from '../upload-metadata.js';

/**
 * `PUT /api/v1/uploads/<filename>` — create a resource and stream the request body into
 * it (`curl -T file URL/`, `curl -T - URL/name`: Content-Length or chunked). 201 with the
 * resource's JSON and `Location` once every byte is written and, by default, the
 * resource is COMPLETED with its checksums (`uploadChecksums`, default crc32;
 * `?checksum=crc32,md5,sha256|none` chooses). `Repr-Digest`/`Digest`, `Content-MD5`,
 * `?md5=` or `Spool-MD5` are verified: mismatch → 422 CHECKSUM_MISMATCH, FAILED. `Upload-Complete: ?0` (or `?complete=0`) leaves it IN_PROGRESS for appends.
 * An interrupted body fails the resource (or, with `?0`, releases it), bytes kept.
 *
 * The resource exists — under its `?name=`, for followers — before the first body byte,
 * unless nothing says what its type is: then its first bytes decide (text or binary),
 * and it exists from the first byte on.
 */
export function uploadRaw(ctx: HttpContext) {
  return (req: Request, res: Response): Promise<void> =>
    receiveUpload(ctx, req, res, describeUpload(req, { urlFilename: req.params.filename as string | undefined, useContentType: true }));
}

/**
 * `PUT /api/v1/names/<name…>` — the same upload, named by its URL as piping-server and
 * file servers do (`./build.sh | curl -T - $S/api/v1/names/ci/1234/build.log`): the name
 * is the path, the filename its last segment unless told.
 */
export function uploadNamed(ctx: HttpContext) {
  return (req: Request, res: Response): Promise<void> => {
    // The URL is the name: no `?name=` or Spool-Name may say otherwise.
    const name = refOf(req);
    const description = describeUpload(req, {
      explicit: { name },
      urlFilename: name.slice(name.lastIndexOf('/') + 1),
      useContentType: true,
    });
    return receiveUpload(ctx, req, res, description);
  };
}

async function receiveUpload(ctx: HttpContext, req: Request, res: Response, description: UploadDescription): Promise<void> {
  const complete = uploadCompleteFlag(req) ?? true;
  const expected = expectedChecksumsOfBody(req);
  if (Object.keys(expected).length > 0 && !complete)
    throw new InvalidMessageError('A checksum is verified only by an upload that completes the resource');
  refuseContentEncoding(req);
  const budget = uploadBudget(ctx.config, 0);
  refuseDeclaredOverBudget(req, budget);

  let head: Buffer | undefined;
  if (description.mimeType === undefined && requestHasBody(req)) {
    acceptBody(req, res);
    head = await peekFirstChunk(req, ctx.config.httpIdleTimeoutMs);
  }
  const metadata = metadataOf(description, head);
  const checksum = uploadChecksums(ctx, req, expected);
  const { contextId, name } = description;
  const { session, tokens } = await openUpload(ctx, metadata, { contextId, name, resumable: !complete, checksum });
  ctx.logger.info('http upload started', {
    resourceId: session.id,
    filename: metadata.filename,
    name,
    contextId,
    principal: res.locals.principal,
  });
  await receiveBody(ctx, req, res, session, budget, complete ? 'fail' : 'release');
  const status = complete ? await session.finish(expected) : await session.release();
  await respondWithResource(ctx, req, res, 201, session.id, status, tokens);
}
