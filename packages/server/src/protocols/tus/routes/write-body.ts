import type { Request, Response } from 'express';
import type { UploadSession } from '../../../core/upload-session.js';
import { receiveBody } from '../../shared/http/receive-body.js';
import type { UploadBudget } from '../../shared/http/upload-budget.js';
import type { TusContext } from '../context.js';
import { appendStaged, type StagedBody } from '../staging.js';

/**
 * Appends a request's body to the upload: a verified one from staging, any other as it
 * arrives. An interrupted body keeps every byte received and leaves the upload open for
 * the next PATCH (what tus clients resume from `Upload-Offset`).
 */
export async function writeBody(
  ctx: TusContext,
  req: Request,
  res: Response,
  session: UploadSession,
  budget: UploadBudget,
  staged: StagedBody | undefined,
): Promise<void> {
  if (!staged) {
    await receiveBody(ctx, req, res, session, budget, 'release');
    return;
  }
  try {
    await appendStaged(staged, session);
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
}
