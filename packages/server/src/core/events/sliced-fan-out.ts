import type { BusListener } from './event-bus.js';

/**
 * Longest run of listener calls (ms) before the fan-out yields to the event loop. A push
 * to a follower is a socket write (~20–30 µs), so 1,000 followers take ~30 ms: in slices,
 * the uploader's reads and finished writes are served between them (ingest first).
 */
export const FAN_OUT_SLICE_MS = 2;
/** Listeners called between two looks at the clock. */
const CALLS_PER_CLOCK_CHECK = 16;

interface Delivery {
  readonly message: unknown;
  /** The listeners when it was published: one subscribed later does not get it. */
  readonly targets: readonly BusListener<unknown>[];
  next: number;
  readonly delivered: () => void;
}

/**
 * The listeners of one channel and the delivery of its messages: each listener gets
 * every message in publish order. The first slice runs within `deliver` (an idle channel
 * with few listeners is delivered at once); a long one yields with `setImmediate` and
 * resumes where it stopped, and messages published meanwhile wait their turn. A listener
 * removed meanwhile is not called any more. What waits is bounded by the publishers:
 * each awaits its message's delivery (the upload shows its next bytes only then).
 */
export class SlicedFanOut {
  readonly listeners = new Set<BusListener<unknown>>();
  private readonly pending: Delivery[] = [];
  private running = false;

  constructor(private readonly sliceMs = FAN_OUT_SLICE_MS) {}

  /** Resolves once every listener had the message. */
  deliver(message: unknown): Promise<void> {
    if (this.listeners.size === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((delivered) => {
      this.pending.push({ message, targets: [...this.listeners], next: 0, delivered });
      if (!this.running) this.run();
    });
  }

  private readonly run = (): void => {
    this.running = true;
    const deadline = performance.now() + this.sliceMs;
    for (let delivery = this.pending[0]; delivery; delivery = this.pending[0]) {
      const { targets, message } = delivery;
      while (delivery.next < targets.length) {
        const listener = targets[delivery.next++] as BusListener<unknown>;
        if (this.listeners.has(listener)) {
          try {
            listener(message);
          } catch {
            // One faulty listener must not starve the others; listeners log their own errors.
          }
        }
        if (delivery.next % CALLS_PER_CLOCK_CHECK === 0 && delivery.next < targets.length && performance.now() >= deadline) {
          setImmediate(this.run);
          return;
        }
      }
      this.pending.shift();
      delivery.delivered();
    }
    this.running = false;
  };
}
