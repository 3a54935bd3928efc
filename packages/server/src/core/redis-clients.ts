import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { redactUrl } from './redact-url.js';

/** Longest pause between two reconnect attempts. */
const MAX_RECONNECT_DELAY_MS = 1_000;
/** How long a start waits for Redis before it fails. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Connections to Redis, one per entry of `variants` (options over the shared ones):
 * at start, no retry (a misconfigured or absent Redis stops the start with a message
 * naming it); once up, each reconnects by itself forever. A command while Redis is away
 * fails at once (no offline queue) unless a variant says otherwise. `ioredis` is
 * imported only here, when a deployment configures Redis.
 */
export async function connectRedis(url: string, variants: readonly RedisOptions[]): Promise<RedisClient[]> {
  const { Redis } = await import('ioredis');
  let started = false;
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) => (started ? Math.min(times * 100, MAX_RECONNECT_DELAY_MS) : null),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  };
  const clients = variants.map((variant) => new Redis(url, { ...options, ...variant }));
  // The failure is reported below; the callers set their own listeners once it is up.
  const ignore = () => undefined;
  for (const client of clients) client.on('error', ignore);
  try {
    await Promise.all(clients.map((client) => client.connect()));
  } catch (err) {
    for (const client of clients) client.disconnect();
    throw new Error(`Cannot use Redis at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  started = true;
  for (const client of clients) client.off('error', ignore);
  return clients;
}
