import type { BusListener, EventBus } from './event-bus.js';
import { SlicedFanOut } from './sliced-fan-out.js';

/**
 * The embedded event bus: in-process, in publish order per channel. A fan-out to many
 * listeners runs in slices that yield to the event loop (`SlicedFanOut`); `publish`
 * resolves once every listener had the message.
 */
export class MemoryEventBus implements EventBus {
  private readonly channels = new Map<string, SlicedFanOut>();

  publish<T>(channel: string, message: T): Promise<void> {
    return this.channels.get(channel)?.deliver(message) ?? Promise.resolve();
  }

  async subscribe<T>(channel: string, listener: BusListener<T>): Promise<() => void> {
    let fanOut = this.channels.get(channel);
    if (!fanOut) {
      fanOut = new SlicedFanOut();
      this.channels.set(channel, fanOut);
    }
    const entry = listener as BusListener<unknown>;
    const joined = fanOut;
    joined.listeners.add(entry);
    return () => {
      joined.listeners.delete(entry);
      if (joined.listeners.size === 0 && this.channels.get(channel) === joined) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    // Deliveries under way skip listeners that are gone, and end.
    for (const fanOut of this.channels.values()) fanOut.listeners.clear();
    this.channels.clear();
  }
}
