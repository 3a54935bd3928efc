import {
  ChecksumMismatchError,
  CloseCode,
  ConnectionClosedError,
  ContextRequiredError,
  ErrorCode,
  ForbiddenError,
  InvalidMessageError,
  InvalidMetadataError,
  InvalidRangeError,
  LineAccessUnsupportedError,
  LinesOutOfRangeError,
  MessageTooLargeError,
  OffsetMismatchError,
  ProtocolViolationError,
  QuotaExceededError,
  ResourceNotFoundError,
  ResourceTerminalError,
  ShuttingDownError,
  SpoolError,
  StorageFailureError,
  TimeoutError,
  UnauthorizedError,
  UploadAbortedError,
  UploadFailedError,
  WriterConflictError,
} from '@spool/common';
import { errorFromClose } from './close-errors.js';

/** What the Spool server says about an error: its `error` message, or the `CODE: message` close reason. */
export interface SpoolWireError {
  code: string;
  message: string;
  details?: Record<string, unknown> | undefined;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value ?? ''));
const count = (value: unknown): number => (typeof value === 'number' ? value : Number.NaN);

/** A fresh instance of the typed error class for `code` (its message and details are then overwritten). */
function typedInstance(code: ErrorCode, message: string, details: Record<string, unknown>): SpoolError {
  switch (code) {
    case ErrorCode.RESOURCE_NOT_FOUND:
      return new ResourceNotFoundError(text(details.id));
    case ErrorCode.INVALID_RANGE:
      return new InvalidRangeError(message);
    case ErrorCode.LINE_ACCESS_UNSUPPORTED:
      return new LineAccessUnsupportedError(text(details.id));
    case ErrorCode.LINES_OUT_OF_RANGE:
      return new LinesOutOfRangeError(message);
    case ErrorCode.INVALID_METADATA:
      return new InvalidMetadataError(message);
    case ErrorCode.INVALID_MESSAGE:
      return new InvalidMessageError(message);
    case ErrorCode.PROTOCOL_VIOLATION:
      return new ProtocolViolationError(message);
    case ErrorCode.MESSAGE_TOO_LARGE:
      return new MessageTooLargeError(count(details.limit));
    case ErrorCode.CHECKSUM_MISMATCH:
      return new ChecksumMismatchError(text(details.expected), text(details.actual));
    case ErrorCode.QUOTA_EXCEEDED:
      return new QuotaExceededError(message);
    case ErrorCode.CONTEXT_REQUIRED:
      return new ContextRequiredError();
    case ErrorCode.RESOURCE_TERMINAL:
      return new ResourceTerminalError(text(details.id), text(details.state));
    case ErrorCode.WRITER_CONFLICT:
      return new WriterConflictError(text(details.id));
    case ErrorCode.OFFSET_MISMATCH:
      return new OffsetMismatchError(text(details.id), count(details.expected), count(details.got));
    case ErrorCode.UPLOAD_ABORTED:
      return new UploadAbortedError(message);
    case ErrorCode.UPLOAD_FAILED:
      return new UploadFailedError(text(details.id));
    case ErrorCode.STORAGE_FAILURE:
      return new StorageFailureError(message);
    case ErrorCode.SHUTTING_DOWN:
      return new ShuttingDownError();
    case ErrorCode.CONNECTION_CLOSED:
      return new ConnectionClosedError(message);
    case ErrorCode.TIMEOUT:
      return new TimeoutError(message);
    case ErrorCode.UNAUTHORIZED:
      return new UnauthorizedError(message);
    case ErrorCode.FORBIDDEN:
      return new ForbiddenError(message);
    default:
      return new SpoolError(code, message);
  }
}

/**
 * The one mapping of Spool wire errors to typed SDK errors: the class of the stable code
 * (`ResourceNotFoundError` for RESOURCE_NOT_FOUND, …), with the server's message and
 * details (plus `extraDetails`, e.g. the close code). Unknown codes (a newer server)
 * become a plain `SpoolError` with code INTERNAL and the original code in details.
 */
export function errorFromSpoolWire(wire: SpoolWireError, extraDetails: Record<string, unknown> = {}): SpoolError {
  const known = KNOWN_CODES.has(wire.code);
  const details: Record<string, unknown> = { ...(wire.details ?? {}), ...(known ? {} : { serverCode: wire.code }), ...extraDetails };
  const error = typedInstance(known ? (wire.code as ErrorCode) : ErrorCode.INTERNAL, wire.message, details);
  // The server's words win over the class's default message.
  return Object.assign(error, { message: wire.message, details });
}

const PREFIXED_REASON = /^([A-Z][A-Z_]+): (.*)$/s;

/**
 * A close without a preceding `error` message: a `CODE: message` reason (the Spool
 * server's form) maps like the error message would; anything else as on the Step
 * protocol (`errorFromClose`). The close code and reason are kept in details.
 */
export function errorFromSpoolClose(code: number, reason: string): SpoolError {
  const prefixed = PREFIXED_REASON.exec(reason);
  if (prefixed && KNOWN_CODES.has(prefixed[1] as string)) {
    return errorFromSpoolWire({ code: prefixed[1] as string, message: prefixed[2] as string }, { closeCode: code, closeReason: reason });
  }
  return errorFromClose(code, reason);
}

/** Close codes that mean "the connection was lost or the server restarts: try again". */
const RETRYABLE_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.ABNORMAL, 1012 /* service restart */, 1013 /* try again later */]);

/**
 * Whether a connection that ended with `code`, without an `error` message from the
 * server, may be re-established: the peer vanished (1006) or asked for it (1012/1013);
 * 1001 (our server's graceful shutdown) only when the caller opted in.
 */
export function isRetryableClose(code: number, retryOnServerShutdown: boolean): boolean {
  return RETRYABLE_CLOSE_CODES.has(code) || (retryOnServerShutdown && code === CloseCode.GOING_AWAY);
}
