import { eventBusContract } from './event-bus.contract.js';
import type { BusListener, EventBus } from './event-bus.js';
import { MemoryEventBus } from './memory-event-bus.js';

eventBusContract('MemoryEventBus', async () => new MemoryEventBus());

/** Hands each listener its own copy of every message, as a bus across processes does. */
class CopyingEventBus implements EventBus {
  private readonly inner = new MemoryEventBus();
  publish<T>(channel: string, message: T): Promise<void> {
    return this.inner.publish(channel, message);
  }
  subscribe<T>(channel: string, listener: BusListener<T>): Promise<() => void> {
    return this.inner.subscribe<T>(channel, (message) => listener(structuredClone(message)));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

// The contract must not demand one shared object per message: a Redis bus cannot give it.
eventBusContract('a bus that copies each message per listener', async () => new CopyingEventBus());
