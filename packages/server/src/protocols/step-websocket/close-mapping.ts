import { CloseCode, ErrorCode, type SpoolError, toSpoolError } from '@spool/common';

export interface CloseFrame {
  code: number;
  reason: string;
}

/**
 * The one mapping from core error codes to Step-protocol closes. Reasons a Java client
 * parses keep its spelling (QuotaExceededException, Missing parameter ...).
 */
export function closeFrameFor(error: unknown): CloseFrame {
  const err: SpoolError = toSpoolError(error);
  switch (err.code) {
    case ErrorCode.QUOTA_EXCEEDED:
      return { code: CloseCode.POLICY_VIOLATION, reason: `QuotaExceededException: ${err.message}` };
    case ErrorCode.UNAUTHORIZED:
    case ErrorCode.FORBIDDEN:
    case ErrorCode.RESOURCE_NOT_FOUND:
    case ErrorCode.CONTEXT_REQUIRED:
    case ErrorCode.INVALID_RANGE:
    case ErrorCode.LINE_ACCESS_UNSUPPORTED:
    case ErrorCode.LINES_OUT_OF_RANGE:
    case ErrorCode.INVALID_METADATA:
    case ErrorCode.INVALID_MESSAGE:
    case ErrorCode.RESOURCE_TERMINAL:
    case ErrorCode.WRITER_CONFLICT:
    case ErrorCode.OFFSET_MISMATCH:
    case ErrorCode.TIMEOUT:
      return { code: CloseCode.POLICY_VIOLATION, reason: err.message };
    case ErrorCode.PROTOCOL_VIOLATION:
      return { code: CloseCode.PROTOCOL_ERROR, reason: err.message };
    case ErrorCode.MESSAGE_TOO_LARGE:
      return { code: CloseCode.MESSAGE_TOO_BIG, reason: err.message };
    case ErrorCode.SHUTTING_DOWN:
      return { code: CloseCode.GOING_AWAY, reason: 'Server shutdown' };
    default:
      // CHECKSUM_MISMATCH, STORAGE_FAILURE, INTERNAL, ...: the server could not do its part.
      return { code: CloseCode.INTERNAL_ERROR, reason: err.message };
  }
}
