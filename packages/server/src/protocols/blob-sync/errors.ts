import { ErrorCode, SpoolError } from '@spool/common';
import { type HttpErrorResponse, httpErrorFor } from '../../transport/http/errors.js';

/**
 * The blob API's error bodies, in the style of the original's (`{"name": "BlobNotFound",
 * "missing": [...]}`): every error is `{"name", "code", "message"}` plus the fields that
 * say what to do (`missing`, `existing`, `stored`, …). `name` is the original's word for
 * it where it had one, `code` Spool's stable code.
 */
export interface BlobErrorBody {
  name: string;
  code: string;
  message: string;
  [field: string]: unknown;
}

/**
 * An answer of the blob API with its own status, name and fields (the original's
 * statuses: 404, 406, 409, 507 …); a SpoolError, so the shared plumbing (body pump
 * limits) carries it as any other.
 */
export class BlobError extends SpoolError {
  constructor(
    readonly status: number,
    readonly errorName: string,
    code: ErrorCode,
    message: string,
    readonly fields: Record<string, unknown> = {},
  ) {
    super(code, message, fields);
  }

  /** The same answer with more fields (what a failed stream stored before it failed). */
  with(fields: Record<string, unknown>): BlobError {
    return new BlobError(this.status, this.errorName, this.code, this.message, { ...this.fields, ...fields });
  }
}

export const invalidRequest = (message: string, fields?: Record<string, unknown>) =>
  new BlobError(400, 'InvalidRequest', ErrorCode.INVALID_MESSAGE, message, fields);

/** Names of Spool's codes where the original had a word for the error. */
const NAMES: Partial<Record<string, string>> = {
  [ErrorCode.RESOURCE_NOT_FOUND]: 'BlobNotFound',
  [ErrorCode.NAME_TAKEN]: 'BlobExists',
  [ErrorCode.INVALID_RANGE]: 'RangeNotSatisfiable',
  [ErrorCode.INVALID_MESSAGE]: 'InvalidRequest',
};

/** `MESSAGE_TOO_LARGE` → `MessageTooLarge`. */
function pascalCase(code: string): string {
  return code
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/**
 * Maps anything thrown to the blob API's answer: its own errors as they are; everything
 * else through the server's default mapping (status, headers such as `Content-Range`,
 * `Retry-After`), reshaped. A 401 names both schemes a client may use.
 */
export function blobErrorFor(err: unknown): HttpErrorResponse<BlobErrorBody> {
  if (err instanceof BlobError) {
    return { status: err.status, headers: {}, body: { name: err.errorName, code: err.code, message: err.message, ...err.fields } };
  }
  const answer = httpErrorFor(err);
  const { code, message, details } = answer.body.error;
  const headers = answer.status === 401 ? { ...answer.headers, 'WWW-Authenticate': 'Token, Bearer' } : answer.headers;
  const body: BlobErrorBody = { name: NAMES[code] ?? pascalCase(code), code, message, ...(details ? { details } : {}) };
  return { status: answer.status, headers, body };
}

/** {@link blobErrorFor} as a BlobError, so fields can be added to any failure. */
export function asBlobError(err: unknown): BlobError {
  if (err instanceof BlobError) return err;
  const { status, body } = blobErrorFor(err);
  const { name, code, message, ...fields } = body;
  // An HTTP-only code (METHOD_NOT_ALLOWED …) is carried as it is.
  return new BlobError(status, name, code as ErrorCode, message, fields);
}
