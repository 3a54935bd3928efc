import type { BusListener, EventBus } from './event-bus.js';

/** The embedded event bus: in-process, synchronous fan-out in publish order. */
export class MemoryEventBus implements EventBus {
  private readonly channels = new Map<string, Set<BusListener<unknown>>>();

  async publish<T>(channel: string, message: T): Promise<void> {
    const listeners = this.channels.get(channel);
    if (!listeners) return;
    // Copy: a listener may unsubscribe (or subscribe others) while we deliver.
    for (const listener of [...listeners]) {
      try {
        listener(message);
      } catch {
        // One faulty listener must not starve the others; listeners log their own errors.
      }
    }
  }

  async subscribe<T>(channel: string, listener: BusListener<T>): Promise<() => void> {
    let listeners = this.channels.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.channels.set(channel, listeners);
    }
    const entry = listener as BusListener<unknown>;
    listeners.add(entry);
    return () => {
      const set = this.channels.get(channel);
      if (!set) return;
      set.delete(entry);
      if (set.size === 0) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.channels.clear();
  }
}
