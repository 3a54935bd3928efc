import { ForbiddenError, InvalidMessageError, isTerminal, OffsetMismatchError, ResourceTerminalError } from '@spool/common';
import type { Request, Response } from 'express';
import { refuseContentEncoding } from '../../../transport/http/content-encoding.js';
import { headerValue } from '../../../transport/http/request-params.js';
import { reopenUpload } from '../../shared/http/sessions.js';
import { refuseDeclaredOverBudget } from '../../shared/http/upload-budget.js';
import {
  completeIfFull,
  endWriting,
  expiresAt,
  hashes,
  type LoadedUpload,
  loadUpload,
  refuseOverMaxSize,
  setUploadHeaders,
  type TusContext,
  tusBudget,
} from '../context.js';
import { parseUploadChecksum, requireOffsetOctetStream, requireTusResumable, uploadLengthOf, uploadOffsetOf } from '../headers.js';
import { receiveVerified } from '../staging.js';
import { writeBody } from './write-body.js';

/**
 * The upload's length after this request: a deferred one may be set now (once, and not
 * below what is stored); a known one cannot change.
 */
function settleLength(ctx: TusContext, { upload }: LoadedUpload, req: Request, offset: number): number | null {
  const given = uploadLengthOf(req);
  if (given === undefined) return upload.length;
  if (upload.length !== null) {
    if (given !== upload.length)
      throw new InvalidMessageError(`Upload-Length ${given} differs from the upload's ${upload.length}: it cannot change`);
    return given;
  }
  if (given < offset) throw new InvalidMessageError(`Upload-Length ${given} is less than the ${offset} bytes the upload holds`);
  refuseOverMaxSize(ctx, given);
  if (!ctx.uploads.setLength(upload.id, given)) return ctx.uploads.get(upload.id)?.length ?? given;
  return given;
}

/**
 * `PATCH <tusBasePath><id>` (also `POST` with `X-HTTP-Method-Override: PATCH`): appends
 * the body at `Upload-Offset`, which must be the upload's offset (409 otherwise, nothing
 * changed). Readers see the bytes as they are checkpointed, while the body still
 * arrives — unless `Upload-Checksum` covers it: then it is verified whole first (460 on a
 * mismatch, nothing kept). 204 with the new `Upload-Offset`; the upload is COMPLETED
 * once it holds `Upload-Length` bytes.
 */
export function appendToUpload(ctx: TusContext) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    requireTusResumable(req);
    requireOffsetOctetStream(req);
    refuseContentEncoding(req);
    const offset = uploadOffsetOf(req);
    const id = req.params.id;
    const loaded = await loadUpload(ctx, id);
    if (loaded.upload.concat?.kind === 'final') {
      throw new ForbiddenError(`Upload ${id} is a final upload (a concatenation of partial uploads): it takes no PATCH`);
    }
    // Refused before a byte of the body is read (the core checks both again, atomically).
    if (isTerminal(loaded.status.state)) throw new ResourceTerminalError(id, loaded.status.state);
    if (loaded.status.size !== offset) throw new OffsetMismatchError(id, loaded.status.size, offset);
    const length = settleLength(ctx, loaded, req, offset);
    const checksum = parseUploadChecksum(headerValue(req, 'upload-checksum'));
    const budget = tusBudget(ctx, offset, length);
    refuseDeclaredOverBudget(req, budget);
    // A body to verify is received before the writer is taken: a slow client holds no upload.
    const staged = checksum ? await receiveVerified(ctx, ctx.stagingDir, req, res, checksum, budget) : undefined;
    try {
      const session = await reopenUpload(ctx, id, offset, { checksum: hashes(ctx) });
      try {
        await writeBody(ctx, req, res, session, budget, staged);
      } catch (err) {
        // A body cut off right after the upload's last byte still completes the upload.
        await loadUpload(ctx, id)
          .then((after) => completeIfFull(ctx, after))
          .catch(() => undefined);
        throw err;
      }
      const status = await endWriting(session, length);
      setUploadHeaders(ctx, req, res, { ...loaded.upload, length }, status, expiresAt(ctx, status, Date.now()));
      res.status(204).end();
    } finally {
      await staged?.remove();
    }
  };
}
