import {
  CloseCode,
  ConnectionClosedError,
  ContextRequiredError,
  ErrorCode,
  QuotaExceededError,
  ResourceNotFoundError,
  SpoolError,
} from '@spool/common';

/** Close codes this SDK sends when it ends an upload early (4000–4999 is the application range). */
export const ClientCloseCode = {
  /** `Upload.cancel()`. */
  CANCELLED: 4000,
  /** Reading the upload source failed. */
  SOURCE_FAILED: 4001,
  /** The server did not answer in time. */
  TIMEOUT: 4002,
} as const;

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Maps a WebSocket close received from a Step server to a typed error:
 * 1011 naming a checksum → CHECKSUM_MISMATCH; 1008 `QuotaExceededException: …` →
 * QuotaExceededError; 1008 `Missing parameter streamingUploadContextId` →
 * ContextRequiredError; 1008 `Unknown resource <id>` → ResourceNotFoundError; a reason
 * of the form `<ERROR_CODE>: message` → that code; anything else → ConnectionClosedError.
 * The close code and reason are kept in `details` (closeCode, closeReason).
 */
export function errorFromClose(code: number, reason: string): SpoolError {
  const details: Record<string, unknown> = { closeCode: code, closeReason: reason };
  if (code === CloseCode.INTERNAL_ERROR && /checksum/i.test(reason)) {
    return new SpoolError(ErrorCode.CHECKSUM_MISMATCH, reason, details);
  }
  if (code === CloseCode.POLICY_VIOLATION) {
    if (reason.startsWith('QuotaExceededException')) return new QuotaExceededError(reason, details);
    if (reason.startsWith('Missing parameter streamingUploadContextId')) return new ContextRequiredError();
    const unknownResource = /^Unknown resource (.+)$/s.exec(reason);
    if (unknownResource) return new ResourceNotFoundError(unknownResource[1] as string);
  }
  const prefixed = /^([A-Z][A-Z_]+):\s*(.*)$/s.exec(reason);
  if (prefixed && KNOWN_CODES.has(prefixed[1] as string)) {
    return new SpoolError(prefixed[1] as ErrorCode, prefixed[2] || reason, details);
  }
  const described = reason ? `${code} ${reason}` : `${code}`;
  const message = code === CloseCode.ABNORMAL ? `Connection lost (${described})` : `Connection closed by the server (${described})`;
  return new ConnectionClosedError(message, details);
}
