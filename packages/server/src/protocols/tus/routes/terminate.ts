import type { Request, Response } from 'express';
import { loadUpload, type TusContext } from '../context.js';
import { requireTusResumable, TUS_VERSION } from '../headers.js';

/**
 * `DELETE <tusBasePath><id>` (termination): deletes the upload's resource, finished or
 * not — a PATCH still arriving is cut, followers see FAILED ("Resource deleted"). 204;
 * the upload is 404 from then on.
 */
export function terminateUpload(ctx: TusContext) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    requireTusResumable(req);
    const { upload } = await loadUpload(ctx, req.params.id);
    await ctx.core.delete(upload.id);
    ctx.uploads.delete(upload.id);
    ctx.logger.info('tus upload terminated', { resourceId: upload.id, principal: res.locals.principal });
    res.setHeader('Tus-Resumable', TUS_VERSION);
    res.status(204).end();
  };
}
