import { ResourceDeletedError, type ResourceStatus, SpoolError, toSpoolError } from '@spool/common';
import type { Request, Response } from 'express';
import type { UploadSession } from '../../core/upload-session.js';
import { pumpRequestBody } from '../../transport/http/body-pump.js';
import { acceptBody } from '../../transport/http/request-body.js';
import { bodyTimeouts, type UploadBudget } from '../shared/http/upload-budget.js';
import type { HttpContext } from './context.js';

/**
 * What an interrupted body (limit, timeout, client gone, storage) does to its resource:
 * a one-shot upload `fail`s it (FAILED, bytes kept and readable: followers learn it is
 * over); an append — or a create that asked to stay open — `release`s it (IN_PROGRESS,
 * every received byte kept and visible, resumable at `Upload-Offset`).
 */
export type InterruptionPolicy = 'fail' | 'release';

async function endInterrupted(session: UploadSession, policy: InterruptionPolicy, reason: string): Promise<ResourceStatus> {
  try {
    return policy === 'fail' ? await session.fail(reason) : await session.release();
  } catch {
    // The session failed on its own (storage error): it is FAILED already.
    return session.status;
  }
}

/** The pump's error, saying what became of the resource (details.resource; Upload-Offset header). */
function withResourceOutcome(err: SpoolError, status: ResourceStatus): SpoolError {
  const outcome =
    status.state === 'FAILED'
      ? `resource ${status.id} is FAILED with the ${status.size} bytes received kept`
      : `resource ${status.id} keeps the ${status.size} bytes received and stays ${status.state}: continue with PATCH at Upload-Offset ${status.size}`;
  return new SpoolError(
    err.code,
    `${err.message}; ${outcome}`,
    { ...err.details, resource: { id: status.id, state: status.state, size: status.size } },
    { cause: err },
  );
}

/** Streams the request body into `session`; on interruption ends it per `policy` and throws the error with the outcome. */
export async function receiveBody(
  ctx: HttpContext,
  req: Request,
  res: Response,
  session: UploadSession,
  budget: UploadBudget,
  policy: InterruptionPolicy,
): Promise<number> {
  try {
    acceptBody(req, res);
    return await pumpRequestBody(req, session, { ...budget, ...bodyTimeouts(ctx.config) }).done;
  } catch (err) {
    const error = toSpoolError(err);
    // Deleted meanwhile: nothing was kept, and the error says so.
    if (error instanceof ResourceDeletedError) throw error;
    const status = await endInterrupted(session, policy, error.message);
    ctx.logger.warn('http upload interrupted', {
      resourceId: session.id,
      code: error.code,
      reason: error.message,
      state: status.state,
      size: status.size,
    });
    throw withResourceOutcome(error, status);
  }
}
