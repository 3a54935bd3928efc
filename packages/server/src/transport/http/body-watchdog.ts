import type { Readable } from 'node:stream';
import { TimeoutError } from '@spool/common';

export interface BodyTimeouts {
  /** No body byte for this long → TIMEOUT; 0 = never. */
  idleTimeoutMs: number;
  /** The whole body must arrive within this long → TIMEOUT; 0 = no deadline. */
  deadlineMs: number;
}

/**
 * Idle timeout and overall deadline of one request body, driven by the bytes as they
 * arrive (`touch`), not by polling them. While the source is paused by our own
 * back-pressure (storage slower than the client), silence is ours, not the client's:
 * the idle clock restarts. The deadline is wall-clock and ignores pauses.
 */
export class BodyWatchdog {
  private lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly source: Readable,
    private readonly timeouts: BodyTimeouts,
    private readonly onExpired: (err: TimeoutError) => void,
  ) {}

  start(): void {
    const { idleTimeoutMs, deadlineMs } = this.timeouts;
    if (idleTimeoutMs > 0) this.armIdle(idleTimeoutMs);
    if (deadlineMs > 0) {
      this.deadlineTimer = setTimeout(
        () => this.expire(new TimeoutError(`Request body not complete within the deadline of ${deadlineMs} ms`)),
        deadlineMs,
      );
      this.deadlineTimer.unref();
    }
  }

  /** A body chunk arrived. Cheap: timers are re-armed lazily, not per chunk. */
  touch(): void {
    this.lastActivity = Date.now();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.deadlineTimer);
  }

  private armIdle(delayMs: number): void {
    this.idleTimer = setTimeout(() => this.checkIdle(), delayMs);
    this.idleTimer.unref();
  }

  private checkIdle(): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.source.isPaused()) this.lastActivity = now;
    const idleTimeoutMs = this.timeouts.idleTimeoutMs;
    const silentMs = now - this.lastActivity;
    if (silentMs >= idleTimeoutMs) {
      this.expire(new TimeoutError(`No request body bytes for ${idleTimeoutMs} ms`));
      return;
    }
    this.armIdle(idleTimeoutMs - silentMs);
  }

  private expire(err: TimeoutError): void {
    if (this.stopped) return;
    this.stop();
    this.onExpired(err);
  }
}
