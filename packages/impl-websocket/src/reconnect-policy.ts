import type { SpoolError } from '@spool/common';
import { delay } from './abortable.js';
import { type SpoolSocketEnd, SpoolSocketEnded } from './spool-socket.js';

/** How the Spool SDK re-establishes a lost connection (upload resume, follower re-follow). */
export interface ReconnectOptions {
  /** Attempts in a row that may fail before giving up (default 10; 0 disables reconnecting). */
  maxAttempts?: number;
  /** Delay before the first attempt (default 100 ms); doubled per failed attempt. */
  initialDelayMs?: number;
  /** Longest delay between attempts (default 5 s). */
  maxDelayMs?: number;
  /** Longest time spent reconnecting after one loss (default 60 s). */
  maxElapsedMs?: number;
  /**
   * Also reconnect after a graceful server shutdown (close 1001, e.g. a rolling restart).
   * Default false: the caller is told at once (the resource stays resumable on the server).
   */
  retryOnServerShutdown?: boolean;
}

export type ResolvedReconnectOptions = Required<ReconnectOptions>;

export function resolveReconnectOptions(options: ReconnectOptions = {}): ResolvedReconnectOptions {
  const resolved = {
    maxAttempts: options.maxAttempts ?? 10,
    initialDelayMs: options.initialDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 5_000,
    maxElapsedMs: options.maxElapsedMs ?? 60_000,
    retryOnServerShutdown: options.retryOnServerShutdown ?? false,
  };
  for (const key of ['maxAttempts', 'initialDelayMs', 'maxDelayMs', 'maxElapsedMs'] as const) {
    if (!Number.isSafeInteger(resolved[key]) || resolved[key] < 0) throw new RangeError(`reconnect.${key} must be a non-negative integer`);
  }
  return resolved;
}

/**
 * Exponential backoff with jitter for one outage: the n-th delay is a random value in
 * [½, 1] × min(maxDelayMs, initialDelayMs × 2ⁿ), so many clients cut off at once do not
 * come back in lockstep. Bounded by attempts and by elapsed time.
 */
export class Backoff {
  #attempts = 0;
  readonly #startedAt: number;

  constructor(
    private readonly options: ResolvedReconnectOptions,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {
    this.#startedAt = now();
  }

  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next attempt, or undefined when the budget is spent. */
  nextDelayMs(): number | undefined {
    const { maxAttempts, initialDelayMs, maxDelayMs, maxElapsedMs } = this.options;
    if (this.#attempts >= maxAttempts) return undefined;
    const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** this.#attempts);
    const delay = Math.round(ceiling * (0.5 + this.random() / 2));
    if (this.now() + delay - this.#startedAt > maxElapsedMs) return undefined;
    this.#attempts++;
    return delay;
  }
}

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
