import { expect } from 'chai';
import { freshRedisPrefix, quietLogger, TEST_REDIS_URL } from '../testing/engines.js';
import { eventBusContract } from './event-bus.contract.js';
import { RedisEventBus } from './redis-event-bus.js';

const connect = (prefix: string) => RedisEventBus.connect(TEST_REDIS_URL, prefix, quietLogger());

let current: RedisEventBus | undefined;
eventBusContract(
  'RedisEventBus',
  async () => {
    current = await connect(freshRedisPrefix());
    return current;
  },
  () => current?.roundTrip() ?? Promise.resolve(),
);

describe('RedisEventBus', () => {
  it('carries one node’s messages to another node in order, and keeps prefixes apart', async () => {
    const prefix = freshRedisPrefix();
    const [a, b, other] = await Promise.all([connect(prefix), connect(prefix), connect(freshRedisPrefix())]);
    const got: number[] = [];
    const strangers: number[] = [];
    await b.subscribe<number>('resource:x', (m) => got.push(m));
    await other.subscribe<number>('resource:x', (m) => strangers.push(m));
    await a.subscribe('resource:x', () => undefined);
    for (let i = 0; i < 200; i++) await a.publish('resource:x', i);
    // B's subscriber connection sees A's messages in order; a marker from A behind them tells when all arrived.
    let ended!: () => void;
    const done = new Promise<void>((resolve) => {
      ended = resolve;
    });
    await b.subscribe('end', () => ended());
    await a.publish('end', 1);
    await done;
    expect(got).to.deep.equal(Array.from({ length: 200 }, (_, i) => i));
    expect(strangers).to.deep.equal([]);
    await Promise.all([a.close(), b.close(), other.close()]);
  });

  it('stops the start with a clear message when Redis cannot be reached', async () => {
    const err = (await RedisEventBus.connect('redis://127.0.0.1:1', 'x:', quietLogger()).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/^Cannot use Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
