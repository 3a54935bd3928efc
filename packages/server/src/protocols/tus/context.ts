import {
  type ChecksumAlgorithm,
  ErrorCode,
  InvalidMessageError,
  isTerminal,
  ResourceNotFoundError,
  type ResourceStatus,
  SpoolError,
} from '@spool/common';
import type { Request, Response } from 'express';
import { statusOf } from '../../core/spool-core.js';
import type { ResourceRecord } from '../../core/types.js';
import type { UploadSession } from '../../core/upload-session.js';
import type { PublicUrls } from '../protocol.js';
import { configuredChecksums } from '../shared/checksums.js';
import type { HttpContext } from '../shared/http/http-context.js';
import { type IssuedTokens, reopenUpload } from '../shared/http/sessions.js';
import { type UploadBudget, uploadBudget } from '../shared/http/upload-budget.js';
import { TUS_VERSION } from './headers.js';
import type { TusUpload, TusUploads } from './tus-uploads.js';

/** What every tus route works with. */
export interface TusContext extends HttpContext {
  urls: PublicUrls;
  uploads: TusUploads;
  /** The mount's base path, without a trailing slash (`/files`). */
  basePath: string;
  /** Where bodies with `Upload-Checksum` wait for their verification. */
  stagingDir: string;
}

/** A tus upload as a request finds it: its tus facts, its resource, the freshest status. */
export interface LoadedUpload {
  upload: TusUpload;
  record: ResourceRecord;
  status: ResourceStatus;
}

/** The checksums tus uploads of this server get (tusUploadChecksum, else uploadChecksums). */
export const hashes = (ctx: TusContext): ChecksumAlgorithm[] => configuredChecksums(ctx.config, ctx.config.tusUploadChecksum);

/**
 * The upload `id` names: 404 unless the tus protocol created it and its resource still
 * exists (a row whose resource was deleted elsewhere is dropped here).
 */
export async function loadUpload(ctx: TusContext, id: string): Promise<LoadedUpload> {
  const upload = ctx.uploads.get(id);
  if (!upload) throw new SpoolError(ErrorCode.RESOURCE_NOT_FOUND, `No tus upload ${id}`, { id });
  let record: ResourceRecord;
  try {
    record = await ctx.core.getRecord(id);
  } catch (err) {
    if (err instanceof ResourceNotFoundError) ctx.uploads.delete(id);
    throw err;
  }
  return { upload, record, status: ctx.core.activeUpload(id)?.status ?? statusOf(record) };
}

/** The upload's URL, where a tus client sends HEAD, PATCH and DELETE (absolute: the public URL, else the request's Host). */
export function uploadUrl(ctx: TusContext, req: Request, id: string): string {
  return `${ctx.urls.httpBase(req)}${ctx.basePath}/${encodeURIComponent(id)}`;
}

/** The upload id of a URL naming one of this endpoint's uploads (absolute or relative, as in `Upload-Concat`). */
export function idOfUploadUrl(ctx: TusContext, req: Request, url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url, `${ctx.urls.httpBase(req)}${ctx.basePath}/`).pathname;
  } catch {
    throw new InvalidMessageError(`${JSON.stringify(url.slice(0, 200))} is not a URL`);
  }
  const slash = pathname.lastIndexOf('/');
  const id = pathname.slice(slash + 1);
  if (id === '' || !pathname.slice(0, slash).endsWith(ctx.basePath)) {
    throw new InvalidMessageError(`${JSON.stringify(url.slice(0, 200))} is not an upload URL of this endpoint (${ctx.basePath}/<id>)`);
  }
  try {
    return decodeURIComponent(id);
  } catch {
    throw new InvalidMessageError(`${JSON.stringify(url.slice(0, 200))} is not valid percent-encoding`);
  }
}

/**
 * When an unfinished upload expires (the expiration extension): the resume grace after
 * its writer left (`leftAt`), after which the sweep marks it FAILED (then 410).
 */
export function expiresAt(ctx: TusContext, status: ResourceStatus, leftAt: number): number | undefined {
  return isTerminal(status.state) ? undefined : leftAt + ctx.config.resumeGraceMs;
}

/** When the upload's writer left, as far as the grace is concerned: now if one is attached (its grace starts when it leaves). */
export function writerLeftAt(ctx: TusContext, record: ResourceRecord): number {
  return ctx.core.activeUpload(record.id) ? Date.now() : record.updatedAt;
}

/** Refuses a length over `maxResourceBytes` (`Tus-Max-Size`): 413. */
export function refuseOverMaxSize(ctx: TusContext, length: number): void {
  const max = ctx.config.maxResourceBytes;
  if (max > 0 && length > max) {
    throw new SpoolError(ErrorCode.MESSAGE_TOO_LARGE, `Upload length ${length} is larger than Tus-Max-Size ${max} (maxResourceBytes)`, {
      limit: max,
    });
  }
}

/** How many bytes a request may bring: the server's limits, and what is left up to the upload's length. */
export function tusBudget(ctx: TusContext, offset: number, length: number | null): UploadBudget {
  const limits = uploadBudget(ctx.config, offset);
  if (length === null || length - offset >= limits.room) return limits;
  const room = Math.max(0, length - offset);
  return {
    room,
    tooLarge: () =>
      new SpoolError(
        ErrorCode.MESSAGE_TOO_LARGE,
        `The body goes past Upload-Length ${length}: the upload at ${offset} takes ${room} more bytes`,
        {
          limit: length,
        },
      ),
  };
}

/**
 * The headers describing an upload (HEAD, and the answers to creation and PATCH): tus
 * ones, and Spool's — its resource id, state and HTTP API link, which tus clients ignore
 * and any reader may use to follow the upload while it is being sent.
 */
export function setUploadHeaders(
  ctx: TusContext,
  req: Request,
  res: Response,
  upload: TusUpload,
  status: ResourceStatus,
  expires: number | undefined,
): void {
  res.setHeader('Tus-Resumable', TUS_VERSION);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Upload-Offset', String(status.size));
  if (upload.length !== null) res.setHeader('Upload-Length', String(upload.length));
  else res.setHeader('Upload-Defer-Length', '1');
  if (upload.metadata !== null) res.setHeader('Upload-Metadata', upload.metadata);
  if (upload.concat?.kind === 'partial') res.setHeader('Upload-Concat', 'partial');
  if (upload.concat?.kind === 'final') {
    res.setHeader('Upload-Concat', `final;${upload.concat.parts.map((id) => uploadUrl(ctx, req, id)).join(' ')}`);
  }
  if (expires !== undefined) res.setHeader('Upload-Expires', new Date(expires).toUTCString());
  setSpoolHeaders(ctx, req, res, upload.id, status);
}

/** Spool's own headers: the resource, its state, where the HTTP API describes it. */
export function setSpoolHeaders(
  ctx: TusContext,
  req: Request,
  res: Response,
  id: string,
  status: ResourceStatus,
  tokens?: IssuedTokens,
): void {
  res.setHeader('Spool-Resource', id);
  res.setHeader('Spool-State', status.state);
  // The HTTP API's resource URL: its JSON links content (?follow=1), lines and events.
  res.setHeader('Link', `<${ctx.urls.httpBase(req)}/api/v1/resources/${encodeURIComponent(id)}>; rel="describedby"`);
  if (tokens) {
    res.setHeader('Spool-Write-Token', tokens.writeToken);
    res.setHeader('Spool-Read-Token', tokens.readToken);
  }
}

/** Ends a request's writing: an upload that reached its length is COMPLETED, else it stays open for the next PATCH. */
export function endWriting(session: UploadSession, length: number | null): Promise<ResourceStatus> {
  return length !== null && session.receivedBytes >= length ? session.finish() : session.release();
}

/**
 * An upload whose bytes reached its length but which is still open — a PATCH cut off
 * past its last byte, or a crash between the last checkpoint and COMPLETED — is complete:
 * finished here, so a client told offset = length (which then stops) leaves no
 * unfinished resource behind. Best effort: another writer may be at it.
 */
export async function completeIfFull(ctx: TusContext, loaded: LoadedUpload): Promise<ResourceStatus> {
  const { upload, status } = loaded;
  if (isTerminal(status.state) || upload.length === null || status.size !== upload.length || ctx.core.activeUpload(upload.id)) {
    return status;
  }
  try {
    return await (await reopenUpload(ctx, upload.id, upload.length, { checksum: hashes(ctx) })).finish();
  } catch (err) {
    ctx.logger.debug('tus upload not completed on lookup', { resourceId: upload.id, error: (err as Error).message });
    return ctx.core.getStatus(upload.id);
  }
}
