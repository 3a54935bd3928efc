import { type ErrorCode, type HspStatus, hspStatusOf, toSpoolError } from '@spool/common';

export interface HspError {
  status: HspStatus;
  /** The stable SpoolError code, sent as `x-error`. */
  code: ErrorCode;
  message: string;
}

/** An error as an HSP answer states it (the status from the one mapping in @spool/common). */
export function hspErrorOf(err: unknown): HspError {
  const error = toSpoolError(err);
  return { status: hspStatusOf(error.code), code: error.code, message: error.message };
}
