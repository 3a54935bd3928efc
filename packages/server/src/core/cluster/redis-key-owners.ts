import { ErrorCode, SpoolError } from '@spool/common';
import type { Redis as RedisClient } from 'ioredis';
import type { Logger } from 'winston';
import { connectRedis } from '../redis-clients.js';
import type { KeyOwners, Ownership } from './key-owners.js';

/** How long a key stays owned by a node that stopped refreshing it (hung, or killed while Redis kept the key). */
export const OWNERSHIP_TTL_MS = 10_000;
/** Held keys are refreshed this often: a third of the TTL, so one missed round loses nothing. */
const REFRESH_EVERY_MS = Math.floor(OWNERSHIP_TTL_MS / 3);

/** Takes the key when free, refreshes it when ours; answers its owner either way (one round trip). */
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
if owner == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return owner`;
/** Deletes the key only if `ARGV[1]` still owns it. */
const FORGET = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** Extends every key in KEYS still owned by `ARGV[1]`; answers how many were not (lost). */
const REFRESH = `
local lost = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2]) else lost = lost + 1 end
end
return lost`;
/** Keys refreshed per script call (bounded arguments). */
const REFRESH_BATCH = 500;
/** Keys asked for per SCAN round trip when listing holders. */
const SCAN_BATCH = 1000;

/** `text` matched literally by a Redis glob (SCAN MATCH). */
function globLiteral(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Key ownership in Redis (`<redisKeyPrefix>owner:<key>` → the owner node's URL): the
 * first node to claim a key sets it (`SET NX`-like, with a TTL), and refreshes it while
 * any of its parties holds a claim; when the last lets go it deletes it if still its own.
 * A node killed leaves its keys until the TTL, or until another node finds nothing
 * listening at its URL and forgets them (`forget`). Redis away: claims fail (the party
 * gets an error), held keys are refreshed again when it returns.
 */
export class RedisKeyOwners implements KeyOwners {
  /** Claims held per key on this node. */
  private readonly held = new Map<string, number>();
  nodeUrl: string | undefined;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {
    redis.on('error', (err: Error) => this.logger.warn('Redis key-owner connection error', { error: err.message }));
    this.timer = setInterval(() => void this.refresh(), REFRESH_EVERY_MS);
    this.timer.unref();
  }

  static async connect(url: string, keyPrefix: string, logger: Logger): Promise<RedisKeyOwners> {
    const [redis] = (await connectRedis(url, [{}])) as [RedisClient];
    return new RedisKeyOwners(redis, keyPrefix, logger);
  }

  attach(nodeUrl: string): void {
    this.nodeUrl = nodeUrl;
  }

  private self(): string {
    if (!this.nodeUrl) throw new Error('Key ownership used before the node listens');
    return this.nodeUrl;
  }

  private redisKey(key: string): string {
    return `${this.keyPrefix}owner:${key}`;
  }

  async claim(key: string): Promise<Ownership> {
    const self = this.self();
    // Counted before the round trip: a release racing with a claim never deletes a key a party still holds.
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
    let owner: string;
    try {
      owner = String(await this.redis.eval(CLAIM, 1, this.redisKey(key), self, OWNERSHIP_TTL_MS));
    } catch (err) {
      this.drop(key);
      throw new SpoolError(
        ErrorCode.STORAGE_FAILURE,
        `Redis is unreachable: cannot tell which node holds this meeting point (${(err as Error).message})`,
        undefined,
        {
          cause: err,
        },
      );
    }
    if (owner !== self) {
      this.drop(key);
      return { here: false, nodeUrl: owner };
    }
    let released = false;
    return {
      here: true,
      release: () => {
        if (released) return;
        released = true;
        this.drop(key);
      },
    };
  }

  /** One claim of `key` let go; the last one frees the key in Redis. */
  private drop(key: string): void {
    const count = (this.held.get(key) ?? 1) - 1;
    if (count > 0) {
      this.held.set(key, count);
      return;
    }
    this.held.delete(key);
    const self = this.nodeUrl;
    if (!self) return;
    this.redis.eval(FORGET, 1, this.redisKey(key), self).catch((err: Error) => {
      // Redis away: the key expires by itself.
      this.logger.warn('key ownership not released', { key, error: err.message });
    });
  }

  async forget(key: string, nodeUrl: string): Promise<void> {
    await this.redis.eval(FORGET, 1, this.redisKey(key), nodeUrl);
  }

  async otherHolders(keyPrefix: string): Promise<string[]> {
    const holders = new Set<string>();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${globLiteral(this.redisKey(keyPrefix))}*`, 'COUNT', SCAN_BATCH);
        cursor = next;
        // A key may expire between SCAN and MGET: null, skipped.
        if (keys.length > 0) for (const owner of await this.redis.mget(keys)) if (owner) holders.add(owner);
      } while (cursor !== '0');
    } catch (err) {
      throw new SpoolError(
        ErrorCode.STORAGE_FAILURE,
        `Redis is unreachable: cannot tell which nodes hold ${keyPrefix}* (${(err as Error).message})`,
        undefined,
        {
          cause: err,
        },
      );
    }
    if (this.nodeUrl) holders.delete(this.nodeUrl);
    return [...holders];
  }

  private async refresh(): Promise<void> {
    const self = this.nodeUrl;
    if (!self || this.held.size === 0) return;
    const keys = [...this.held.keys()].map((key) => this.redisKey(key));
    try {
      for (let i = 0; i < keys.length; i += REFRESH_BATCH) {
        const batch = keys.slice(i, i + REFRESH_BATCH);
        const lost = Number(await this.redis.eval(REFRESH, batch.length, ...batch, self, OWNERSHIP_TTL_MS));
        if (lost > 0) this.logger.warn('key ownership lost (expired while Redis was away, or taken over)', { lost });
      }
    } catch (err) {
      this.logger.warn('key ownership not refreshed', { error: (err as Error).message });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.quit().catch(() => undefined);
  }
}
