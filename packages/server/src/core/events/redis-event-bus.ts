import type { Redis as RedisClient } from 'ioredis';
import type { Logger } from 'winston';
import { connectRedis } from '../redis-clients.js';
import { type BusListener, type EventBus, isNewestOnly } from './event-bus.js';

/** Channels whose newest message waits for Redis to come back; beyond, the oldest waiting ones are dropped (logged). */
const MAX_WAITING_CHANNELS = 10_000;

interface Channel {
  readonly listeners: Set<BusListener<unknown>>;
  /** Only the newest message matters (`isNewestOnly`): of several that arrive together, only the last is delivered. */
  readonly newestOnly: boolean;
  readonly gapHandlers: Set<() => void>;
  /** The SUBSCRIBE of this channel, shared by listeners that arrive while it is on its way. */
  subscribing: Promise<unknown>;
}

/**
 * The event bus of a cluster: Redis pub/sub, one connection to publish and one to
 * subscribe per node, channels under `keyPrefix`. A node subscribes to a channel once
 * whatever its number of listeners and parses each message once; every listener of the
 * node gets that object, so what a node derives from one status (the shared push frames
 * of the Spool protocol) is still derived once per node. On a channel where only the
 * newest message matters (one resource's status), messages that arrive together — read
 * in one go from the subscriber connection, because this node fell behind — are
 * delivered as the newest alone: a publisher never waits for the other nodes' followers,
 * so a node whose fan-out is slower than the writes skips ahead instead of falling ever
 * further behind.
 *
 * Order: a channel's messages come from one publisher connection (a resource has one
 * writer), which Redis delivers in order. Loss of Redis: pub/sub keeps nothing for a
 * subscriber that is away, so when the subscriber connection comes back every listener's
 * `onGap` runs (the core then re-reads the status from the catalog); a publish while the
 * publisher connection is down keeps the newest message of its channel (bounded) and
 * sends those once it is back. Publishing never waits on Redis: a checkpoint is
 * recorded in the catalog whatever happens to the bus. `ioredis` is imported only when a
 * deployment configures Redis.
 */
export class RedisEventBus implements EventBus {
  private readonly channels = new Map<string, Channel>();
  /** Newest-only channels with messages read but not yet delivered, and the newest of each. */
  private readonly newest = new Map<Channel, unknown>();
  /** The newest message of each channel published while the publisher was away, oldest first. */
  private readonly waiting = new Map<string, string>();
  private flushing: Promise<void> | undefined;
  private subscriberWasLost = false;
  private closed = false;
  private droppedWhileAway = 0;

  private constructor(
    private readonly pub: RedisClient,
    private readonly sub: RedisClient,
    private readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {
    sub.on('message', (fullChannel: string, text: string) => this.deliver(fullChannel, text));
    sub.on('close', () => {
      if (!this.closed) this.subscriberWasLost = true;
    });
    sub.on('ready', () => {
      if (!this.subscriberWasLost) return;
      this.subscriberWasLost = false;
      this.logger.info('Redis subscriber reconnected; followers re-read status', { channels: this.channels.size });
      this.reportGap();
    });
    pub.on('ready', () => this.flushWaiting());
    for (const [role, client] of [
      ['publisher', pub],
      ['subscriber', sub],
    ] as const) {
      // Without a listener an 'error' event would throw; reconnecting is ioredis's job.
      client.on('error', (err: Error) => {
        if (!this.closed) this.logger.warn(`Redis ${role} connection error`, { error: err.message });
      });
    }
  }

  /** Connects both connections, failing with a message naming the server if Redis cannot be reached. */
  static async connect(url: string, keyPrefix: string, logger: Logger): Promise<RedisEventBus> {
    // A publish while Redis is away fails at once (and waits in `waiting`) instead of queueing unbounded.
    const [pub, sub] = (await connectRedis(url, [{}, { enableOfflineQueue: true }])) as [RedisClient, RedisClient];
    return new RedisEventBus(pub, sub, keyPrefix, logger);
  }

  async publish<T>(channel: string, message: T): Promise<void> {
    const text = JSON.stringify(message);
    if (this.waiting.size > 0 || this.pub.status !== 'ready') {
      this.wait(channel, text);
      return;
    }
    try {
      await this.pub.publish(this.keyPrefix + channel, text);
    } catch (err) {
      this.wait(channel, text);
      this.logger.warn('Redis publish failed; the newest status of the channel is sent when Redis is back', {
        channel,
        error: (err as Error).message,
      });
    }
  }

  async subscribe<T>(channel: string, listener: BusListener<T>, onGap?: () => void): Promise<() => void> {
    const full = this.keyPrefix + channel;
    let entry = this.channels.get(full);
    if (!entry) {
      entry = {
        listeners: new Set(),
        newestOnly: isNewestOnly(channel),
        gapHandlers: new Set(),
        subscribing: this.sub.subscribe(full),
      };
      this.channels.set(full, entry);
    }
    const own = entry;
    const wrapped = listener as BusListener<unknown>;
    own.listeners.add(wrapped);
    if (onGap) own.gapHandlers.add(onGap);
    if (this.sub.status === 'ready') {
      try {
        await own.subscribing;
      } catch (err) {
        this.remove(full, own, wrapped, onGap);
        throw err;
      }
    } else {
      // Redis is away: the SUBSCRIBE waits for it, and its return is a gap (onGap re-reads).
      // The subscriber reads the catalog meanwhile instead of hanging on the bus.
      own.subscribing.catch(() => this.remove(full, own, wrapped, onGap));
    }
    return () => this.remove(full, own, wrapped, onGap);
  }

  /**
   * Resolves once every message this node published before the call has reached this
   * node's listeners (a marker sent behind them comes back).
   */
  async roundTrip(): Promise<void> {
    const marker = `__round-trip:${Math.random().toString(36).slice(2)}`;
    let done!: () => void;
    const arrived = new Promise<void>((resolve) => {
      done = resolve;
    });
    const off = await this.subscribe(marker, () => done());
    try {
      await this.publish(marker, 1);
      await arrived;
    } finally {
      off();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    this.channels.clear();
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }

  private remove(full: string, entry: Channel, listener: BusListener<unknown>, onGap: (() => void) | undefined): void {
    entry.listeners.delete(listener);
    if (onGap) entry.gapHandlers.delete(onGap);
    if (entry.listeners.size > 0 || this.channels.get(full) !== entry) return;
    this.channels.delete(full);
    // Unsubscribe after the subscribe landed; a listener arriving meanwhile makes a new entry (and SUBSCRIBE).
    void entry.subscribing
      .then(() => (this.channels.has(full) || this.closed ? undefined : this.sub.unsubscribe(full)))
      .catch(() => undefined);
  }

  private deliver(fullChannel: string, text: string): void {
    const entry = this.channels.get(fullChannel);
    if (!entry) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.logger.warn('unparsable message on a Redis channel ignored', { channel: fullChannel });
      return;
    }
    if (!entry.newestOnly) {
      this.fanOut(entry, message);
      return;
    }
    // ioredis emits the messages of one read one after the other, synchronously: the
    // microtask runs once they all have, with the newest of each channel.
    if (this.newest.size === 0) queueMicrotask(this.deliverNewest);
    this.newest.set(entry, message);
  }

  private readonly deliverNewest = (): void => {
    const newest = [...this.newest];
    this.newest.clear();
    for (const [entry, message] of newest) this.fanOut(entry, message);
  };

  private fanOut(entry: Channel, message: unknown): void {
    for (const listener of [...entry.listeners]) {
      try {
        listener(message);
      } catch {
        // One faulty listener must not starve the others; listeners log their own errors.
      }
    }
  }

  private reportGap(): void {
    for (const entry of [...this.channels.values()]) {
      for (const onGap of [...entry.gapHandlers]) {
        try {
          onGap();
        } catch {
          // As for listeners.
        }
      }
    }
  }

  private wait(channel: string, text: string): void {
    this.waiting.delete(channel);
    this.waiting.set(channel, text);
    if (this.waiting.size > MAX_WAITING_CHANNELS) {
      const oldest = this.waiting.keys().next().value as string;
      this.waiting.delete(oldest);
      if (this.droppedWhileAway++ === 0) {
        this.logger.warn('Redis away too long: the oldest waiting statuses are dropped (followers re-read on reconnect)', {
          limit: MAX_WAITING_CHANNELS,
        });
      }
    }
    if (this.pub.status === 'ready') this.flushWaiting();
  }

  /** Sends the waiting messages in the order they were published, until one fails again. */
  private flushWaiting(): void {
    this.flushing ??= (async () => {
      try {
        while (this.waiting.size > 0 && this.pub.status === 'ready') {
          const [channel, text] = this.waiting.entries().next().value as [string, string];
          await this.pub.publish(this.keyPrefix + channel, text);
          // A newer message of the channel may have replaced it meanwhile: it stays to be sent.
          if (this.waiting.get(channel) === text) this.waiting.delete(channel);
        }
        this.droppedWhileAway = 0;
      } catch {
        // Still away: the next 'ready' flushes.
      } finally {
        this.flushing = undefined;
      }
    })();
  }
}
