import { ErrorCode } from '../../errors.js';

/**
 * The `status` of an HSP reply (docs/protocols/hsp.md). 0, 1, 49, 69 and 129 are the
 * original's; the others are Spool's, each with one meaning (the original's are never
 * reused for another).
 */
export const HspStatus = {
  /** Done. */
  OK: 0,
  /** A stream request was accepted: send the bytes (step 2 of a stream request). */
  RECEIVED: 1,
  /** No credential, or one the server does not know (`auth`). */
  UNAUTHORIZED: 49,
  /** A known credential that does not allow this request. */
  FORBIDDEN: 50,
  /** Unknown route, resource, or stream key (or a stream that already ended). */
  NOT_FOUND: 69,
  /** Malformed packet or request, or an internal error; the payload says which. */
  INVALID: 129,
  /** Over a limit of the server: resource size, uploads in progress. */
  TOO_LARGE: 130,
  /** The stream has another writer, or is not at the offset the request says: retry or resume. */
  CONFLICT: 131,
  /** The server cannot take it now (at its connection limit, shutting down): try again later. */
  UNAVAILABLE: 132,
} as const;
export type HspStatus = (typeof HspStatus)[keyof typeof HspStatus];

/**
 * The one mapping of error codes to HSP statuses (docs/protocols/hsp.md): the server
 * answers with it, the SDK reads it backwards when an answer names no code.
 */
const STATUS_OF_CODE: Partial<Record<ErrorCode, HspStatus>> = {
  [ErrorCode.UNAUTHORIZED]: HspStatus.UNAUTHORIZED,
  [ErrorCode.FORBIDDEN]: HspStatus.FORBIDDEN,
  [ErrorCode.RESOURCE_NOT_FOUND]: HspStatus.NOT_FOUND,
  // A stream key whose resource already ended is, as a stream, gone (the sheet: "completed → 69").
  [ErrorCode.RESOURCE_TERMINAL]: HspStatus.NOT_FOUND,
  [ErrorCode.QUOTA_EXCEEDED]: HspStatus.TOO_LARGE,
  [ErrorCode.WRITER_CONFLICT]: HspStatus.CONFLICT,
  [ErrorCode.OFFSET_MISMATCH]: HspStatus.CONFLICT,
  [ErrorCode.SHUTTING_DOWN]: HspStatus.UNAVAILABLE,
};

/** The status that answers an error with `code`; anything not listed is 129. */
export function hspStatusOf(code: ErrorCode): HspStatus {
  return STATUS_OF_CODE[code] ?? HspStatus.INVALID;
}

/** The code an answer with `status` stands for when it names none (the first listed for it; INTERNAL for 129). */
export function errorCodeOfHspStatus(status: number): ErrorCode {
  const entry = Object.entries(STATUS_OF_CODE).find(([, s]) => s === status);
  return (entry?.[0] as ErrorCode | undefined) ?? ErrorCode.INTERNAL;
}

const NAMES = new Map<number, string>(Object.entries(HspStatus).map(([name, code]) => [code, name]));

/** `69 NOT_FOUND`, or the number alone for a status this version does not know. */
export function describeHspStatus(status: number): string {
  const name = NAMES.get(status);
  return name ? `${status} ${name}` : String(status);
}
