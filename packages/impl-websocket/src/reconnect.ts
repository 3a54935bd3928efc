import { Backoff, type ResolvedReconnectOptions, type SpoolError } from '@spool/common';
import { delay } from './abortable.js';
import { type SpoolSocketEnd, SpoolSocketEnded } from './spool-socket.js';

/** One outage to get over: see {@link reconnectWithBackoff}. */
export interface Reconnection<T> {
  policy: ResolvedReconnectOptions;
  /** How the connection was lost: what is reported if no attempt is made at all. */
  lost: SpoolError;
  /** Stops waiting between attempts: the reconnection then rejects with the signal's reason. */
  signal: AbortSignal;
  /** One attempt to re-establish the connection; its result is the reconnection's. */
  attempt(): Promise<T>;
  /** Whether an attempt that ended so is worth another (default: when the end says it is retryable). */
  mayRetry?(end: SpoolSocketEnd): boolean;
  /** The error to report when the backoff budget is spent (default: the last attempt's). */
  gaveUp?(lastError: SpoolError, attempts: number): SpoolError;
}

/**
 * Re-establishes a lost connection, the same way for uploads and followers: waits a
 * backoff delay, then attempts, until an attempt succeeds (resolves with its result), one
 * is refused (rejects with the refusal's error: an attempt that ends with a
 * {@link SpoolSocketEnded} `mayRetry` does not accept, or with any other error), or the
 * budget is spent (rejects with `gaveUp`'s error).
 */
export async function reconnectWithBackoff<T>(reconnection: Reconnection<T>): Promise<T> {
  const { policy, signal, attempt, mayRetry = (end) => end.retryable } = reconnection;
  const backoff = new Backoff(policy);
  let lastError = reconnection.lost;
  for (;;) {
    const delayMs = backoff.nextDelayMs();
    if (delayMs === undefined) throw reconnection.gaveUp?.(lastError, backoff.attempts) ?? lastError;
    await delay(delayMs, signal);
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof SpoolSocketEnded)) throw error;
      if (!mayRetry(error.end)) throw error.end.error;
      lastError = error.end.error;
    }
  }
}
