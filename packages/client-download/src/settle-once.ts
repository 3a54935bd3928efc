/** Settles the promise with `outcome` (an Error rejects); later calls do nothing. */
export type Settle<T> = (outcome: T | Error) => void;
/** Registers a cleanup that runs once the promise settled (at once if it already has). */
export type RegisterCleanup = (cleanup: () => void) => void;

/**
 * A promise settled by the first of several event sources (status listeners, close,
 * timeout, abort), whose listeners and timers are all removed as soon as it settles.
 * Sources may settle synchronously while being set up (listeners that replay the last
 * status), before their own cleanup is known: `register` handles that.
 */
export function settleOnce<T>(setup: (settle: Settle<T>, register: RegisterCleanup) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanups: Array<() => void> = [];
    let settled = false;
    const settle: Settle<T> = (outcome) => {
      if (settled) return;
      settled = true;
      for (const cleanup of cleanups) cleanup();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const register: RegisterCleanup = (cleanup) => {
      if (settled) cleanup();
      else cleanups.push(cleanup);
    };
    setup(settle, register);
  });
}

/** Registers a timer that settles with `error()` after `timeoutMs` (none when undefined). */
export function settleAfter<T>(timeoutMs: number | undefined, settle: Settle<T>, register: RegisterCleanup, error: () => Error): void {
  if (timeoutMs === undefined) return;
  const timer = setTimeout(() => settle(error()), timeoutMs);
  register(() => clearTimeout(timer));
}
