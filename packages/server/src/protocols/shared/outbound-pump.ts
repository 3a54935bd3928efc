import { InvalidMessageError } from '@spool/common';

/**
 * What a connection's pump does next: `true` when done at once (go on), a promise when
 * under way (go on once it settles), `false` when there is nothing to do.
 */
export type PumpStep = () => Promise<void> | boolean;

/**
 * The one sender of a connection: runs `step` until there is nothing to do —
 * synchronously while steps complete at once (the usual push), waiting only for a step
 * that must. An event arriving while it runs calls `kick`, which does nothing then;
 * `pumping` is cleared only in the synchronous turn that finds nothing to do, so an event
 * right after starts a new run and two runs never overlap. Replies thus go out whole
 * and in order, at the pace the socket drains, and a stalled peer holds O(1) memory.
 */
export class OutboundPump {
  private pumping = false;

  constructor(
    private readonly step: PumpStep,
    /** The connection is gone or ending: nothing more is sent. */
    private readonly closed: () => boolean,
    /** A step threw or rejected. */
    private readonly fail: (err: unknown) => void,
  ) {}

  kick(): void {
    if (this.pumping || this.closed()) return;
    this.pumping = true;
    this.run();
  }

  private run(): void {
    try {
      for (;;) {
        if (this.closed()) return;
        const next = this.step();
        if (next === false) {
          this.pumping = false;
          return;
        }
        if (next !== true) {
          next.then(
            () => this.run(),
            (err: unknown) => this.stopOn(err),
          );
          return;
        }
      }
    } catch (err) {
      this.stopOn(err);
    }
  }

  private stopOn(err: unknown): void {
    this.pumping = false;
    this.fail(err);
  }
}

/** Requests a client may queue before it is cut off (they are answered one at a time). */
export const MAX_PENDING_REQUESTS = 256;

/** A connection's queue of requests waiting for their reply, bounded: a client past the bound is refused. */
export class RequestQueue<R> {
  private readonly items: R[] = [];

  constructor(private readonly limit = MAX_PENDING_REQUESTS) {}

  /** Throws INVALID_MESSAGE when `limit` requests are already waiting. */
  push(request: R): void {
    if (this.items.length >= this.limit) throw new InvalidMessageError(`More than ${this.limit} requests pending`);
    this.items.push(request);
  }

  shift(): R | undefined {
    return this.items.shift();
  }

  get length(): number {
    return this.items.length;
  }
}
