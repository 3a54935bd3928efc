import { TransferState, UploadFailedError } from '@spool/common';
import type { Request, Response } from 'express';
import { completeIfFull, expiresAt, loadUpload, setUploadHeaders, type TusContext, writerLeftAt } from '../context.js';
import { requireTusResumable } from '../headers.js';

/**
 * `HEAD <tusBasePath><id>`: where the upload stands — `Upload-Offset` (the visible size,
 * which is also the durable one: what survives a crash, where a client resumes),
 * `Upload-Length` or `Upload-Defer-Length`, `Upload-Metadata`, `Upload-Concat`,
 * `Upload-Expires` while unfinished. A FAILED upload (expired, aborted) is 410 Gone.
 */
export function describeUpload(ctx: TusContext) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    requireTusResumable(req);
    const loaded = await loadUpload(ctx, req.params.id);
    if (loaded.status.state === TransferState.FAILED) {
      throw new UploadFailedError(loaded.upload.id, loaded.status.error ?? loaded.record.error ?? undefined);
    }
    const status = await completeIfFull(ctx, loaded);
    setUploadHeaders(ctx, req, res, loaded.upload, status, expiresAt(ctx, status, writerLeftAt(ctx, loaded.record)));
    res.status(200).end();
  };
}
