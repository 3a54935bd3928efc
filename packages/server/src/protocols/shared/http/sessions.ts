import type { CreateUploadOptions, ResumeUploadOptions } from '../../../core/spool-core.js';
import type { UploadSession } from '../../../core/upload-session.js';
import type { HttpContext } from './http-context.js';

/** The capability tokens of a resource just created (only when access control is on). */
export interface IssuedTokens {
  writeToken: string;
  readToken: string;
}

/**
 * A session reports ending on the server's side (storage failure, deletion) as 'error'
 * events, possibly when no body is being pumped (while finishing): without a listener that
 * would be an unhandled error. The pump and the route see the failure through their own
 * calls; this only logs it.
 */
function guarded(ctx: HttpContext, session: UploadSession): UploadSession {
  session.on('error', (err: Error) => ctx.logger.warn('http upload ended by the server', { resourceId: session.id, error: err.message }));
  return session;
}

/** Creates an upload (with fresh capability tokens when access control is on). */
export async function openUpload(
  ctx: HttpContext,
  metadata: unknown,
  options: Omit<CreateUploadOptions, 'writeTokenHash' | 'readTokenHash'>,
): Promise<{ session: UploadSession; tokens: IssuedTokens | undefined }> {
  const capabilities = ctx.core.access.issueCapabilities();
  const session = await ctx.core.createUpload(metadata, {
    ...options,
    writeTokenHash: capabilities?.writeTokenHash,
    readTokenHash: capabilities?.readTokenHash,
  });
  return {
    session: guarded(ctx, session),
    tokens: capabilities ? { writeToken: capabilities.writeToken, readToken: capabilities.readToken } : undefined,
  };
}

/** Takes the writer of an open resource (at `offset`, if given: OFFSET_MISMATCH otherwise). */
export async function reopenUpload(ctx: HttpContext, id: string, offset?: number, options?: ResumeUploadOptions): Promise<UploadSession> {
  return guarded(ctx, await ctx.core.resumeUpload(id, offset, options));
}
