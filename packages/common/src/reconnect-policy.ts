/** How a client re-establishes a lost connection (the SDKs' upload resume, follower re-follow, HSP resume). */
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
   * Also reconnect after a graceful server shutdown (WebSocket close 1001, HSP status 132; e.g. a rolling restart).
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
