import { ErrorCode, SpoolError } from '@spool/common';

/**
 * The exit codes of `spool` (docs/cli.md). A resource that FAILED (3) is distinct from a
 * connection that was lost (4): a script retries the second, never the first.
 */
export const EXIT = {
  OK: 0,
  /** Any other error (a refused request, a bad file). */
  ERROR: 1,
  /** Bad command line or configuration. */
  USAGE: 2,
  /** The resource FAILED (uploaded as failed, cancelled or deleted while read). */
  FAILED: 3,
  /** The server could not be reached, or the connection was lost and not regained. */
  CONNECTION: 4,
  /** No such resource, name, blob or route. */
  NOT_FOUND: 5,
  /** The token is missing, unknown or does not allow it (401/403). */
  DENIED: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line, with the exit code it means. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.ERROR,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const BY_CODE: Partial<Record<ErrorCode, ExitCode>> = {
  [ErrorCode.UPLOAD_FAILED]: EXIT.FAILED,
  [ErrorCode.UPLOAD_ABORTED]: EXIT.FAILED,
  [ErrorCode.RESOURCE_NOT_FOUND]: EXIT.NOT_FOUND,
  [ErrorCode.CONNECTION_CLOSED]: EXIT.CONNECTION,
  [ErrorCode.TIMEOUT]: EXIT.CONNECTION,
  [ErrorCode.SHUTTING_DOWN]: EXIT.CONNECTION,
  [ErrorCode.UNAUTHORIZED]: EXIT.DENIED,
  [ErrorCode.FORBIDDEN]: EXIT.DENIED,
};

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = (e as Error & { cause?: unknown }).cause) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && NETWORK.has(code)) return code;
  }
  return undefined;
}

/** The one line and exit code an error ends the command with. */
export function describeFailure(err: unknown): { line: string; exitCode: ExitCode } {
  if (err instanceof CliError) return { line: err.message, exitCode: err.exitCode };
  if (err instanceof SpoolError) {
    // A refused WebSocket handshake comes as CONNECTION_CLOSED with the close code 1008 (policy).
    const closeCode = err.details?.code;
    const exitCode = closeCode === 1008 ? EXIT.DENIED : (BY_CODE[err.code] ?? EXIT.ERROR);
    return { line: `${err.code}: ${err.message}`, exitCode };
  }
  const network = networkCode(err);
  // fetch() says only "fetch failed"; what happened is in its cause.
  const cause = (err as Error & { cause?: unknown })?.cause;
  const why =
    err instanceof TypeError && err.message === 'fetch failed' && cause instanceof Error ? cause.message : (err as Error)?.message;
  if (network || why !== (err as Error)?.message) return { line: `cannot reach the server: ${why}`, exitCode: EXIT.CONNECTION };
  if ((err as Error)?.name === 'AbortError') return { line: 'interrupted', exitCode: EXIT.ERROR };
  return { line: err instanceof Error ? err.message : String(err), exitCode: EXIT.ERROR };
}
