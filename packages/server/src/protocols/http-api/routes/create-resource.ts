import type { Request, Response } from 'express';
import { z } from 'zod';
import { HttpError, HttpErrorCode } from '../../../transport/http/errors.js';
import { requestHasBody } from '../../../transport/http/request-body.js';
import { readJsonBody } from '../../shared/http/json-body.js';
import { openUpload } from '../../shared/http/sessions.js';
import { uploadChecksums } from '../checksum.js';
import { type HttpContext, respondWithResource } from '../context.js';
import { describeUpload, metadataOf } from '../upload-metadata.js';
import { uploadMultipart } from './upload-multipart.js';

export const CreateBodySchema = z
  .object({
    filename: z.string().optional(),
    mimeType: z.string().optional(),
    supportsLineAccess: z.boolean().optional(),
    contextId: z.string().nullable().optional(),
    name: z.string().nullable().optional(),
  })
  .strict();

/**
 * `POST /api/v1/resources`:
 * - `multipart/form-data` → a browser form: every file part becomes a resource (upload-multipart.ts);
 * - no body, or a JSON description → an empty resource, open for appends (PATCH), 201 INITIATED.
 * Any other body is 415: raw bytes go to `PUT /api/v1/uploads/<filename>`.
 */
export function createResource(ctx: HttpContext) {
  const multipart = uploadMultipart(ctx);
  return async (req: Request, res: Response): Promise<void> => {
    if (requestHasBody(req) && req.is('multipart/form-data')) return multipart(req, res);
    if (requestHasBody(req) && !req.is('application/json')) {
      throw new HttpError(
        415,
        HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
        `POST ${req.baseUrl}${req.path} takes no body, a JSON description or a multipart/form-data form; upload raw bytes with PUT /api/v1/uploads/<filename>`,
      );
    }
    const explicit = await readJsonBody(ctx, req, res, CreateBodySchema);
    const description = describeUpload(req, { explicit, useContentType: false });
    // No body to sniff: a type nothing told is binary.
    const metadata = metadataOf(description);
    const { contextId, name } = description;
    // Resumable: the core keeps it open (across restarts too) while appends may still come.
    const { session, tokens } = await openUpload(ctx, metadata, { contextId, name, resumable: true, checksum: uploadChecksums(ctx, req) });
    const status = await session.release();
    ctx.logger.info('http resource created for appends', {
      resourceId: session.id,
      filename: metadata.filename,
      name,
      contextId,
      principal: res.locals.principal,
    });
    await respondWithResource(ctx, req, res, 201, session.id, status, tokens);
  };
}
