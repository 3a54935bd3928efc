import type { Request, Response } from 'express';
import { z } from 'zod';
import { readJsonBody } from '../../shared/http/json-body.js';
import { reopenUpload } from '../../shared/http/sessions.js';
import { resourceChecksums, uploadChecksums } from '../checksum.js';
import { type HttpContext, resourceIdOf, respondWithResource } from '../context.js';

export const CompleteBodySchema = z
  .object({
    md5: z
      .string()
      .regex(/^[0-9a-fA-F]{32}$/, 'md5 must be 32 hex digits')
      .optional(),
  })
  .strict();
export const FailBodySchema = z.object({ reason: z.string().max(1024).optional() }).strict();

/**
 * `POST /api/v1/resources/:id/complete` — ends an open (released) resource as COMPLETED
 * with the bytes it has; optional whole-resource MD5 as `{"md5": "<hex>"}`, `?md5=` or
 * `Spool-MD5` (mismatch → 422, FAILED). 409 if another request or protocol is writing
 * it (WRITER_CONFLICT) or it is already terminal (RESOURCE_TERMINAL).
 */
export function completeResource(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = await readJsonBody(ctx, req, res, CompleteBodySchema);
    const expected = resourceChecksums(req);
    if (body?.md5 !== undefined) expected.md5 = body.md5.toLowerCase();
    const checksum = uploadChecksums(ctx, req, expected);
    const id = await resourceIdOf(ctx, req);
    const session = await reopenUpload(ctx, id, undefined, { checksum });
    const status = await session.finish(expected);
    await respondWithResource(ctx, req, res, 200, id, status);
  };
}

/** `POST /api/v1/resources/:id/fail` — ends an open resource as FAILED (`{"reason": "..."}`), bytes kept. */
export function failResource(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = await readJsonBody(ctx, req, res, FailBodySchema);
    const id = await resourceIdOf(ctx, req);
    const session = await reopenUpload(ctx, id);
    const status = await session.fail(body?.reason ?? 'Failed by a client over HTTP');
    await respondWithResource(ctx, req, res, 200, id, status);
  };
}
