import { ErrorCode, SpoolError } from '@spool/common';
import { type HttpErrorResponse, httpErrorFor } from '../../transport/http/errors.js';
import { TUS_VERSION } from './headers.js';

/**
 * Where tus gives a core error another status than the server's default HTTP mapping:
 * - another writer holds the upload (a PATCH still being received, e.g. the one the
 *   client just gave up on): 423 Locked, which tus clients retry after a while;
 * - an `Upload-Checksum` that does not match the body: 460 (the checksum extension);
 * - a FAILED upload (expired, aborted, failed): 410 Gone — tus clients then start anew.
 */
function tusStatus(err: SpoolError, status: number): number {
  switch (err.code) {
    case ErrorCode.WRITER_CONFLICT:
      return 423;
    case ErrorCode.CHECKSUM_MISMATCH:
      return 460;
    case ErrorCode.UPLOAD_FAILED:
      return 410;
    case ErrorCode.RESOURCE_TERMINAL:
      return err.details?.state === 'FAILED' ? 410 : status;
    default:
      return status;
  }
}

/**
 * The tus protocol's one error mapping: the server's statuses (with the tus ones above),
 * `Tus-Resumable` on every answer, and a plain-text body `CODE: message` as tusd and
 * @tus/server answer — tus-js-client and Uppy show the response text in their error
 * message as it is, where JSON would read as noise.
 */
export function tusErrorResponse(err: unknown): HttpErrorResponse<string> {
  const answer = httpErrorFor(err);
  const { code, message } = answer.body.error;
  const status = err instanceof SpoolError ? tusStatus(err, answer.status) : answer.status;
  return { status, headers: { ...answer.headers, 'Tus-Resumable': TUS_VERSION }, body: `${code}: ${message}\n` };
}
