import { InvalidMessageError, TransferState } from '@spool/common';
import type { Request, Response } from 'express';
import type { Principal } from '../../../core/access/access-control.js';
import { requestHasBody } from '../../../transport/http/request-body.js';
import { headerValue } from '../../../transport/http/request-params.js';
import { authorizeRule, requires } from '../../access-rule.js';
import { openUpload } from '../../shared/http/sessions.js';
import {
  hashes,
  idOfUploadUrl,
  type LoadedUpload,
  loadUpload,
  refuseOverMaxSize,
  setSpoolHeaders,
  setUploadHeaders,
  type TusContext,
  uploadUrl,
} from '../context.js';
import { parseUploadMetadata } from '../headers.js';
import { spoolMetadata } from '../metadata.js';
import { copyInto } from '../staging.js';
import type { TusUpload } from '../tus-uploads.js';

/** What a final upload needs of each partial it names, besides `create` (the route's rule). */
export const READ_PARTIAL = requires<string>('read', (id) => id);

/**
 * `POST` with `Upload-Concat: final;<url> …` (concatenation): a new resource whose bytes
 * are the partial uploads' in the order named, streamed through the core (bounded
 * memory, line index and MD5 as for any upload). Every partial must be a COMPLETED
 * partial upload the caller may read. 201 once the concatenation is COMPLETED. The
 * partials stay resources of their own (readers may have followed them live; a final
 * may reuse them), removed by DELETE or retention like any other.
 */
export async function concatenate(ctx: TusContext, req: Request, res: Response, principal: Principal, urls: string[]): Promise<void> {
  if (headerValue(req, 'upload-length') !== undefined) {
    throw new InvalidMessageError("A final upload's length is the sum of its partial uploads': send no Upload-Length");
  }
  if (requestHasBody(req)) throw new InvalidMessageError('A final upload takes no body: its bytes are the partial uploads');
  const parts: LoadedUpload[] = [];
  for (const id of urls.map((url) => idOfUploadUrl(ctx, req, url))) {
    await authorizeRule(ctx.core.access, principal, READ_PARTIAL, id);
    const part = await loadUpload(ctx, id);
    if (part.upload.concat?.kind !== 'partial')
      throw new InvalidMessageError(`Upload ${id} is not a partial upload (Upload-Concat: partial)`);
    if (part.status.state !== TransferState.COMPLETED) {
      throw new InvalidMessageError(`Partial upload ${id} is ${part.status.state}: only complete partial uploads can be concatenated`);
    }
    parts.push(part);
  }
  const length = parts.reduce((sum, part) => sum + part.status.size, 0);
  refuseOverMaxSize(ctx, length);
  const rawMetadata = headerValue(req, 'upload-metadata') ?? null;
  const metadata = spoolMetadata(parseUploadMetadata(rawMetadata ?? undefined), false);
  // Not resumable: a concatenation cut by a crash is FAILED at restart, and the client creates it again.
  const { session, tokens } = await openUpload(ctx, metadata, { resumable: false, checksum: hashes(ctx) });
  const upload: TusUpload = {
    id: session.id,
    length,
    metadata: rawMetadata,
    concat: { kind: 'final', parts: parts.map((p) => p.upload.id) },
  };
  res.setHeader('Location', uploadUrl(ctx, req, session.id));
  setSpoolHeaders(ctx, req, res, session.id, session.status, tokens);
  try {
    ctx.uploads.create(upload);
    for (const part of parts) {
      await copyInto(await ctx.core.openRange(part.upload.id, 0, part.status.size), session, `partial upload ${part.upload.id}`);
    }
  } catch (err) {
    await session.fail(`Concatenation failed: ${(err as Error).message}`);
    throw err;
  }
  const status = await session.finish();
  ctx.logger.info('tus uploads concatenated', {
    resourceId: session.id,
    parts: upload.concat,
    size: status.size,
    principal: res.locals.principal,
  });
  setUploadHeaders(ctx, req, res, upload, status, undefined);
  res.status(201).end();
}
