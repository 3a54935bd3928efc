/** Handler of one channel's messages; messages are JSON-serializable. */
export type BusListener<T> = (message: T) => void;

/**
 * Status fan-out between the core and every connection. Embedded: in-process; multi-node:
 * Redis pub/sub. Per channel, messages reach each listener in publish order, equal to
 * what was published — not necessarily the same object (a bus across processes hands
 * each listener its own copy); on a newest-only channel (`isNewestOnly`) a listener that
 * falls behind may skip to the newest, never backwards, and always gets the last. Every
 * implementation must pass `event-bus.contract.ts`.
 */
export interface EventBus {
  publish<T>(channel: string, message: T): Promise<void>;
  /**
   * Returns a function that removes the listener. `onGap` is called when messages of the
   * channel may have been missed (a bus across processes lost its connection and has it
   * back): the subscriber re-reads the current state from the catalog. An in-process bus
   * never misses one.
   */
  subscribe<T>(channel: string, listener: BusListener<T>, onGap?: () => void): Promise<() => void>;
  close(): Promise<void>;
}

export const resourceChannel = (id: string): string => `resource:${id}`;
/**
 * Channels on which each message says everything the ones before it did (one resource's
 * status, never backwards): a listener that falls behind may get only the newest. A bus
 * whose publishers do not wait for delivery (across processes) uses it to coalesce.
 */
export const isNewestOnly = (channel: string): boolean => channel.startsWith('resource:');
export const contextChannel = (contextId: string): string => `context:${contextId}`;
