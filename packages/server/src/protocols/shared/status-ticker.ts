/**
 * Least time (ms) between two status-only messages on one reader connection while an
 * upload keeps changing its status. A status that carries no bytes (to a watcher, or to a
 * follower still catching up) is only progress: a thousand watchers sent every status of
 * a full-speed upload took more than half the event loop and cut the uploader to
 * 0.12–0.54 of its rate (docs/benchmarks.md, ingest-under-readers row g). Bytes pushed at
 * the tail are never held back by this.
 */
export const STATUS_SPACING_MS = 100;

/**
 * Wakes the connections that held a status back, all together at the next tick: one
 * timer for the whole process, armed only while some connection waits (no timer per
 * connection).
 */
export class StatusTicker {
  private waiting = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly spacingMs = STATUS_SPACING_MS) {}

  /** Calls `wake` at the next tick (once, however often it is asked before). */
  wakeAtTick(wake: () => void): void {
    this.waiting.add(wake);
    if (!this.timer) {
      this.timer = setTimeout(this.tick, this.spacingMs);
      // A pending status never keeps the process alive.
      this.timer.unref();
    }
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    const waiting = this.waiting;
    this.waiting = new Set();
    for (const wake of waiting) {
      try {
        wake();
      } catch {
        // One connection's failure is its own (its pump reports it); the others still wake.
      }
    }
  };
}

/** The process's ticker, shared by every reader connection. */
export const statusTicker = new StatusTicker();
