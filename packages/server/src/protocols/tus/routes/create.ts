import type { Request, Response } from 'express';
import type { Principal } from '../../../core/access/access-control.js';
import { refuseContentEncoding } from '../../../transport/http/content-encoding.js';
import { requestHasBody } from '../../../transport/http/request-body.js';
import { headerValue } from '../../../transport/http/request-params.js';
import { openUpload } from '../../shared/http/sessions.js';
import { refuseDeclaredOverBudget } from '../../shared/http/upload-budget.js';
import {
  endWriting,
  expiresAt,
  hashes,
  refuseOverMaxSize,
  setSpoolHeaders,
  setUploadHeaders,
  type TusContext,
  tusBudget,
  uploadUrl,
} from '../context.js';
import {
  declaredLengthOf,
  parseUploadChecksum,
  parseUploadConcat,
  parseUploadMetadata,
  requireOffsetOctetStream,
  requireTusResumable,
} from '../headers.js';
import { spoolMetadata } from '../metadata.js';
import { receiveVerified } from '../staging.js';
import type { TusUpload } from '../tus-uploads.js';
import { concatenate } from './concatenate.js';
import { writeBody } from './write-body.js';

/**
 * `POST <tusBasePath>` (creation): a new resumable Spool resource, IN_PROGRESS until its
 * `Upload-Length` bytes are in (`Upload-Defer-Length: 1`: until a PATCH says the length),
 * readable and followable by anyone from now on. With a body (creation-with-upload) the
 * first bytes come along, verified first if `Upload-Checksum` covers them. `Upload-Concat:
 * partial` marks a part of a parallel upload, `final;…` concatenates parts (concatenate.ts).
 * 201 with `Location`, and Spool's resource id, state, link and (access control on) tokens.
 */
export function createUpload(ctx: TusContext) {
  return async (req: Request, res: Response, principal: Principal): Promise<void> => {
    requireTusResumable(req);
    const concat = parseUploadConcat(headerValue(req, 'upload-concat'));
    if (concat?.kind === 'final') return concatenate(ctx, req, res, principal, concat.urls);
    const length = declaredLengthOf(req);
    if (length !== null) refuseOverMaxSize(ctx, length);
    const rawMetadata = headerValue(req, 'upload-metadata') ?? null;
    const metadata = spoolMetadata(parseUploadMetadata(rawMetadata ?? undefined), concat?.kind === 'partial');
    const withBody = requestHasBody(req);
    const budget = tusBudget(ctx, 0, length);
    if (withBody) {
      requireOffsetOctetStream(req);
      refuseContentEncoding(req);
      refuseDeclaredOverBudget(req, budget);
    }
    const checksum = withBody ? parseUploadChecksum(headerValue(req, 'upload-checksum')) : undefined;
    // A body with a checksum is verified before anything is created: a mismatch leaves nothing behind.
    const staged = checksum ? await receiveVerified(ctx, ctx.stagingDir, req, res, checksum, budget) : undefined;
    try {
      const { session, tokens } = await openUpload(ctx, metadata, { resumable: true, checksum: hashes(ctx) });
      const upload: TusUpload = { id: session.id, length, metadata: rawMetadata, concat: concat ? { kind: 'partial' } : null };
      try {
        ctx.uploads.create(upload);
      } catch (err) {
        await session.fail('The tus upload could not be recorded');
        throw err;
      }
      ctx.logger.info('tus upload created', {
        resourceId: session.id,
        filename: metadata.filename,
        length,
        partial: concat !== undefined,
        principal: res.locals.principal,
      });
      // Said before the body is read, so even an interrupted creation-with-upload tells where the upload is.
      res.setHeader('Location', uploadUrl(ctx, req, session.id));
      setSpoolHeaders(ctx, req, res, session.id, session.status, tokens);
      if (withBody) await writeBody(ctx, req, res, session, budget, staged);
      const status = await endWriting(session, length);
      setUploadHeaders(ctx, req, res, upload, status, expiresAt(ctx, status, Date.now()));
      res.status(201).end();
    } finally {
      await staged?.remove();
    }
  };
}
