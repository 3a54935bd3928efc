import { ErrorCode, HspStatus, toSpoolError } from '@spool/common';

/** The one mapping of core error codes to HSP statuses (docs/protocols/hsp.md); anything else is 129. */
const STATUS_OF: Partial<Record<ErrorCode, HspStatus>> = {
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

export interface HspError {
  status: HspStatus;
  /** The stable SpoolError code, sent as `x-error`. */
  code: ErrorCode;
  message: string;
}

export function hspErrorOf(err: unknown): HspError {
  const error = toSpoolError(err);
  return { status: STATUS_OF[error.code] ?? HspStatus.INVALID, code: error.code, message: error.message };
}
