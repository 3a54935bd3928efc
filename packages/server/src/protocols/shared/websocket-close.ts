import { CloseCode, type ErrorCode } from '@spool/common';

export interface CloseFrame {
  code: number;
  reason: string;
}

/**
 * The close code of each core error, the same on every WebSocket protocol (each words
 * its own reason). `Record` makes the compiler refuse a code left unmapped. 1008 for what
 * the client asked wrongly (or did not do in time: an idle upload), 1002/1009 for broken framing or size, 1011 where the server
 * could not do its part (CHECKSUM_MISMATCH, STORAGE_FAILURE, INTERNAL, ...).
 */
const CLOSE_CODE_BY_ERROR: Record<ErrorCode, number> = {
  RESOURCE_NOT_FOUND: CloseCode.POLICY_VIOLATION,
  INVALID_RANGE: CloseCode.POLICY_VIOLATION,
  LINE_ACCESS_UNSUPPORTED: CloseCode.POLICY_VIOLATION,
  LINES_OUT_OF_RANGE: CloseCode.POLICY_VIOLATION,
  INVALID_METADATA: CloseCode.POLICY_VIOLATION,
  INVALID_MESSAGE: CloseCode.POLICY_VIOLATION,
  PROTOCOL_VIOLATION: CloseCode.PROTOCOL_ERROR,
  MESSAGE_TOO_LARGE: CloseCode.MESSAGE_TOO_BIG,
  CHECKSUM_MISMATCH: CloseCode.INTERNAL_ERROR,
  QUOTA_EXCEEDED: CloseCode.POLICY_VIOLATION,
  CONTEXT_REQUIRED: CloseCode.POLICY_VIOLATION,
  RESOURCE_TERMINAL: CloseCode.POLICY_VIOLATION,
  WRITER_CONFLICT: CloseCode.POLICY_VIOLATION,
  OFFSET_MISMATCH: CloseCode.POLICY_VIOLATION,
  NAME_TAKEN: CloseCode.POLICY_VIOLATION,
  UPLOAD_ABORTED: CloseCode.INTERNAL_ERROR,
  UPLOAD_FAILED: CloseCode.INTERNAL_ERROR,
  STORAGE_FAILURE: CloseCode.INTERNAL_ERROR,
  SHUTTING_DOWN: CloseCode.GOING_AWAY,
  CONNECTION_CLOSED: CloseCode.INTERNAL_ERROR,
  TIMEOUT: CloseCode.POLICY_VIOLATION,
  UNAUTHORIZED: CloseCode.POLICY_VIOLATION,
  FORBIDDEN: CloseCode.POLICY_VIOLATION,
  INTERNAL: CloseCode.INTERNAL_ERROR,
};

export function closeCodeFor(code: ErrorCode): number {
  return CLOSE_CODE_BY_ERROR[code];
}
