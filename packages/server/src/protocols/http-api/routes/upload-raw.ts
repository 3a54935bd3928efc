import { InvalidMessageError } from '@spool/common';
import type { Request, Response } from 'express';
import { refuseContentEncoding } from '../../../transport/http/content-encoding.js';
import { refuseDeclaredOverBudget, uploadBudget } from '../../shared/http/upload-budget.js';
import { expectedMd5OfBody, uploadChecksum } from '../checksum.js';
import { type HttpContext, respondWithResource } from '../context.js';
import { receiveBody } from '../receive-body.js';
import { openUpload } from '../sessions.js';
import { describeUpload, uploadCompleteFlag } from '../upload-metadata.js';

/**
 * `PUT /api/v1/uploads/<filename>` — create a resource and stream the request body into
 * it (`curl -T file URL/`, `curl -T - URL/name`: Content-Length or chunked). 201 with the
 * resource's JSON and `Location` once every byte is written and, by default, the
 * resource is COMPLETED (`Content-MD5`, `?md5=` or `Spool-MD5` verified: mismatch → 422,
 * FAILED; `?checksum=none` or the `httpUploadChecksum` setting skip the MD5: no
 * checksum then). `Upload-Complete: ?0` (or `?complete=0`) leaves it IN_PROGRESS for appends.
 * An interrupted body fails the resource (or, with `?0`, releases it), bytes kept.
 */
export function uploadRaw(ctx: HttpContext) {
  return async (req: Request<{ filename?: string }>, res: Response): Promise<void> => {
    const { metadata, contextId } = describeUpload(req, { urlFilename: req.params.filename, useContentType: true });
    const complete = uploadCompleteFlag(req) ?? true;
    const md5 = expectedMd5OfBody(req);
    if (md5 !== undefined && !complete)
      throw new InvalidMessageError('A checksum is verified only by an upload that completes the resource');
    refuseContentEncoding(req);
    const budget = uploadBudget(ctx.config, 0);
    refuseDeclaredOverBudget(req, budget);

    const checksum = uploadChecksum(req, ctx.config.httpUploadChecksum, md5) === 'md5';
    const { session, tokens } = await openUpload(ctx, metadata, { contextId, resumable: !complete, checksum });
    ctx.logger.info('http upload started', {
      resourceId: session.id,
      filename: metadata.filename,
      contextId,
      principal: res.locals.principal,
    });
    await receiveBody(ctx, req, res, session, budget, complete ? 'fail' : 'release');
    const status = complete ? await session.finish(md5) : await session.release();
    await respondWithResource(ctx, res, 201, session.id, status, tokens);
  };
}
