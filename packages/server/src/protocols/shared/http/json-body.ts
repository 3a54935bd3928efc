import { describeZodError, InvalidMessageError, MessageTooLargeError } from '@spool/common';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { SpoolConfig } from '../../../config/schema.js';
import { pumpRequestBody } from '../../../transport/http/body-pump.js';
import { BufferSink } from '../../../transport/http/buffer-sink.js';
import { refuseContentEncoding } from '../../../transport/http/content-encoding.js';
import { HttpError, HttpErrorCode } from '../../../transport/http/errors.js';
import { acceptBody, requestHasBody } from '../../../transport/http/request-body.js';
import { bodyTimeouts } from './upload-budget.js';

/** Control bodies (descriptions, reasons) are small: the default limit. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

export interface JsonBodyOptions {
  /** Largest body (default 64 KiB). */
  maxBytes?: number;
  /** Take the body whatever its Content-Type says (clients that send JSON as `text/plain` or form-encoded). */
  anyContentType?: boolean;
}

/**
 * Reads an optional JSON body through the same pump as uploads (same idle timeout and
 * deadline), then validates it against `schema`. No body → undefined. Not JSON → 415
 * (unless `anyContentType`); larger than `maxBytes` (64 KiB) → 413; malformed or not
 * matching → 400 INVALID_MESSAGE.
 */
export async function readJsonBody<S extends z.ZodType>(
  ctx: { config: SpoolConfig },
  req: Request,
  res: Response,
  schema: S,
  options: JsonBodyOptions = {},
): Promise<z.infer<S> | undefined> {
  if (!requestHasBody(req)) return undefined;
  const maxBytes = options.maxBytes ?? MAX_JSON_BODY_BYTES;
  if (!options.anyContentType && !req.is('application/json')) {
    throw new HttpError(
      415,
      HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
      `Expected an application/json body, got ${req.headers['content-type'] ?? 'no Content-Type'}`,
    );
  }
  refuseContentEncoding(req);
  acceptBody(req, res);
  const sink = new BufferSink();
  await pumpRequestBody(req, sink, {
    ...bodyTimeouts(ctx.config),
    room: maxBytes,
    tooLarge: () => new MessageTooLargeError(maxBytes),
  }).done;
  const text = sink.text();
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidMessageError(`Malformed JSON body: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidMessageError(`Invalid JSON body: ${describeZodError(parsed.error)}`);
  return parsed.data;
}
