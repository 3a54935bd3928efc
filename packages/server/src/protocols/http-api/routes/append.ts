import { InvalidMessageError, OffsetMismatchError } from '@spool/common';
import type { Request, Response } from 'express';
import { refuseContentEncoding } from '../../../transport/http/content-encoding.js';
import { headerValue, parseNonNegativeInteger } from '../../../transport/http/request-params.js';
import { receiveBody } from '../../shared/http/receive-body.js';
import { reopenUpload } from '../../shared/http/sessions.js';
import { refuseDeclaredOverBudget, uploadBudget } from '../../shared/http/upload-budget.js';
import { resourceChecksums, uploadChecksums } from '../checksum.js';
import { type HttpContext, resourceIdOf, respondWithResource } from '../context.js';
import { uploadCompleteFlag } from '../upload-metadata.js';

/**
 * `PATCH /api/v1/resources/:id/content` with `Upload-Offset: N` (tus): appends the body
 * at N, which must be the resource's current size (HEAD tells it) — otherwise 409
 * OFFSET_MISMATCH with the right `Upload-Offset`, and nothing changes. Another writer
 * (any protocol) → 409 WRITER_CONFLICT; a terminal resource → 409 RESOURCE_TERMINAL.
 * `Upload-Complete: ?1` (or `?complete=1`) makes it the final append: the resource is
 * COMPLETED with its checksums (`?checksum=`, else `uploadChecksums`); a whole-resource
 * `Repr-Digest`/`Digest`/`Spool-MD5`/`?md5=` is verified. Otherwise it stays
 * IN_PROGRESS; so does an interrupted append, keeping every byte received.
 */
export function appendContent(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = await resourceIdOf(ctx, req);
    const offset = parseNonNegativeInteger(headerValue(req, 'upload-offset'), 'Upload-Offset');
    if (offset === undefined) {
      throw new InvalidMessageError('Upload-Offset header is required: the offset this body starts at (HEAD the resource to learn it)');
    }
    const final = uploadCompleteFlag(req) ?? false;
    if (req.headers['content-md5'] !== undefined) {
      throw new InvalidMessageError(
        "Content-MD5 is not supported on appends (it would cover this body only): send the whole resource's MD5 as Spool-MD5 with the final append",
      );
    }
    const expected = resourceChecksums(req);
    const checksum = uploadChecksums(ctx, req, expected);
    if (Object.keys(expected).length > 0 && !final)
      throw new InvalidMessageError('A checksum is verified only by the final append (Upload-Complete: ?1)');
    refuseContentEncoding(req);
    const budget = uploadBudget(ctx.config, offset);
    refuseDeclaredOverBudget(req, budget);

    const session = await reopenUpload(ctx, id, offset, { checksum }).catch((err: unknown) => {
      if (err instanceof OffsetMismatchError) ctx.logger.debug('append at wrong offset', { resourceId: id, ...err.details });
      throw err;
    });
    await receiveBody(ctx, req, res, session, budget, 'release');
    const status = final ? await session.finish(expected) : await session.release();
    await respondWithResource(ctx, req, res, 200, id, status);
  };
}
