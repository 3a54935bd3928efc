/**
 * The blob sync retry policy of the original client: connection errors are retried after
 * waits growing by 10 s — 10, 20, 30, 40, 50, then 60 s — and every 60 s after that.
 */
export interface BlobRetryOptions {
  /** Retries after the first attempt (default 10; 0: none; Infinity: until it works). */
  maxRetries?: number;
  /** How much each wait grows (default 10 s). */
  stepMs?: number;
  /** Longest wait (default 60 s). */
  maxDelayMs?: number;
}

export type ResolvedBlobRetry = Required<BlobRetryOptions>;

export function resolveBlobRetry(options: BlobRetryOptions = {}): ResolvedBlobRetry {
  const resolved = { maxRetries: options.maxRetries ?? 10, stepMs: options.stepMs ?? 10_000, maxDelayMs: options.maxDelayMs ?? 60_000 };
  for (const [key, value] of Object.entries(resolved)) {
    if (!(value >= 0) || (key !== 'maxRetries' && !Number.isFinite(value)))
      throw new RangeError(`retry.${key} must be a non-negative number`);
  }
  return resolved;
}

/** The wait before retry `n` (1-based), or undefined when no retry is left. */
export function retryDelayMs(policy: ResolvedBlobRetry, n: number): number | undefined {
  if (n > policy.maxRetries) return undefined;
  return Math.min(policy.stepMs * n, policy.maxDelayMs);
}

/** Codes of errors where the server may never have seen the request, or the connection broke. */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** True for a failure of the connection (refused, reset, cut mid-response, timed out): worth a retry. */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (code !== undefined && CONNECTION_ERRORS.has(code)) || err.message === 'socket hang up' || err.message === 'aborted';
}

/** Runs `attempt` (given its number, 0 first), retrying connection errors per `policy`. */
export async function withRetries<T>(
  policy: ResolvedBlobRetry,
  attempt: (n: number) => Promise<T>,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const delay = isConnectionError(err) ? retryDelayMs(policy, n + 1) : undefined;
      if (delay === undefined) throw err;
      await sleep(delay);
    }
  }
}
