/**
 * Typed errors with stable codes. Every protocol maps these codes once
 * (WebSocket close code + reason, HTTP status + JSON body, HSP status); the code
 * string itself is part of the public contract and never changes meaning.
 */
export const ErrorCode = {
  RESOURCE_NOT_FOUND: 'RESOURCE_NOT_FOUND',
  INVALID_RANGE: 'INVALID_RANGE',
  LINE_ACCESS_UNSUPPORTED: 'LINE_ACCESS_UNSUPPORTED',
  LINES_OUT_OF_RANGE: 'LINES_OUT_OF_RANGE',
  INVALID_METADATA: 'INVALID_METADATA',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  PROTOCOL_VIOLATION: 'PROTOCOL_VIOLATION',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  CONTEXT_REQUIRED: 'CONTEXT_REQUIRED',
  RESOURCE_TERMINAL: 'RESOURCE_TERMINAL',
  WRITER_CONFLICT: 'WRITER_CONFLICT',
  OFFSET_MISMATCH: 'OFFSET_MISMATCH',
  NAME_TAKEN: 'NAME_TAKEN',
  UPLOAD_ABORTED: 'UPLOAD_ABORTED',
  UPLOAD_FAILED: 'UPLOAD_FAILED',
  STORAGE_FAILURE: 'STORAGE_FAILURE',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  TIMEOUT: 'TIMEOUT',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SpoolError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export class ResourceNotFoundError extends SpoolError {
  constructor(id: string) {
    super(ErrorCode.RESOURCE_NOT_FOUND, `Unknown resource ${id}`, { id });
  }
}
/** The resource was deleted while a client was writing it: same code, the reason said. */
export class ResourceDeletedError extends SpoolError {
  constructor(id: string) {
    super(ErrorCode.RESOURCE_NOT_FOUND, `Resource ${id} was deleted`, { id, deleted: true });
  }
}
export class InvalidRangeError extends SpoolError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.INVALID_RANGE, message, details);
  }
}
export class LineAccessUnsupportedError extends SpoolError {
  constructor(id: string) {
    super(ErrorCode.LINE_ACCESS_UNSUPPORTED, `Resource ${id} was not uploaded with line access`, { id });
  }
}
export class LinesOutOfRangeError extends SpoolError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.LINES_OUT_OF_RANGE, message, details);
  }
}
export class InvalidMetadataError extends SpoolError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.INVALID_METADATA, message, details);
  }
}
export class InvalidMessageError extends SpoolError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.INVALID_MESSAGE, message, details);
  }
}
export class ProtocolViolationError extends SpoolError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.PROTOCOL_VIOLATION, message, details);
  }
}
export class MessageTooLargeError extends SpoolError {
  constructor(limit: number) {
    super(ErrorCode.MESSAGE_TOO_LARGE, `Message larger than ${limit} bytes`, { limit });
  }
}
export class ChecksumMismatchError extends SpoolError {
  constructor(expected: string, actual: string) {
    super(ErrorCode.CHECKSUM_MISMATCH, `Checksum mismatch: client sent ${expected}, server computed ${actual}`, { expected, actual });
  }
}
export class QuotaExceededError extends SpoolError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.QUOTA_EXCEEDED, message, details);
  }
}
export class ContextRequiredError extends SpoolError {
  constructor() {
    super(ErrorCode.CONTEXT_REQUIRED, 'Missing parameter streamingUploadContextId');
  }
}
export class ResourceTerminalError extends SpoolError {
  constructor(id: string, state: string) {
    super(ErrorCode.RESOURCE_TERMINAL, `Resource ${id} is ${state} and cannot change`, { id, state });
  }
}
export class WriterConflictError extends SpoolError {
  constructor(id: string) {
    super(ErrorCode.WRITER_CONFLICT, `Resource ${id} already has a writer`, { id });
  }
}
/**
 * This writer's lease moved to another writer (another node took the resource over, e.g.
 * after this one paused): nothing it writes or checkpoints counts any more.
 */
export class WriterFencedError extends SpoolError {
  constructor(id: string) {
    super(ErrorCode.WRITER_CONFLICT, `Resource ${id} has a newer writer: this one lost its lease`, { id, fenced: true });
  }
}
export class OffsetMismatchError extends SpoolError {
  constructor(id: string, expected: number, got: number) {
    super(ErrorCode.OFFSET_MISMATCH, `Resource ${id} is at offset ${expected}, write was at ${got}`, { id, expected, got });
  }
}
/** Another resource holds the name (a live one, or for names unique forever any one). */
export class NameTakenError extends SpoolError {
  constructor(name: string, holder: string) {
    super(ErrorCode.NAME_TAKEN, `The name ${name} is taken by resource ${holder}`, { name, id: holder });
  }
}
export class UploadAbortedError extends SpoolError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.UPLOAD_ABORTED, message, details);
  }
}
/** The resource ended FAILED; followers get this instead of a silent end of stream. */
export class UploadFailedError extends SpoolError {
  constructor(id: string, reason?: string) {
    super(ErrorCode.UPLOAD_FAILED, `Resource ${id} FAILED${reason ? `: ${reason}` : ''}`, { id });
  }
}
export class StorageFailureError extends SpoolError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.STORAGE_FAILURE, message, undefined, { cause });
  }
}
export class ShuttingDownError extends SpoolError {
  constructor() {
    super(ErrorCode.SHUTTING_DOWN, 'Server shutdown');
  }
}
export class ConnectionClosedError extends SpoolError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.CONNECTION_CLOSED, message, details);
  }
}
export class TimeoutError extends SpoolError {
  constructor(message: string) {
    super(ErrorCode.TIMEOUT, message);
  }
}

/** No credential, or one the server does not know. */
export class UnauthorizedError extends SpoolError {
  constructor(message = 'Missing or unknown access token') {
    super(ErrorCode.UNAUTHORIZED, message);
  }
}
/** A known credential that does not allow the operation. */
export class ForbiddenError extends SpoolError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.FORBIDDEN, message, details);
  }
}

/** Wraps anything thrown into a SpoolError without losing the original as `cause`. */
export function toSpoolError(err: unknown): SpoolError {
  if (err instanceof SpoolError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SpoolError(ErrorCode.INTERNAL, message, undefined, { cause: err });
}
