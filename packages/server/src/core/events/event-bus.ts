/** Handler of one channel's messages; messages are JSON-serializable. */
export type BusListener<T> = (message: T) => void;

/**
 * Status fan-out between the core and every connection. Embedded: in-process; multi-node:
 * Redis pub/sub. Per channel, messages reach each listener in publish order, equal to
 * what was published — not necessarily the same object (a bus across processes hands
 * each listener its own copy). Every implementation must pass `event-bus.contract.ts`.
 */
export interface EventBus {
  publish<T>(channel: string, message: T): Promise<void>;
  /** Returns a function that removes the listener. */
  subscribe<T>(channel: string, listener: BusListener<T>): Promise<() => void>;
  close(): Promise<void>;
}

export const resourceChannel = (id: string): string => `resource:${id}`;
export const contextChannel = (contextId: string): string => `context:${contextId}`;
