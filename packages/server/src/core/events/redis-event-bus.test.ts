import { expect } from 'chai';
import { freshRedisPrefix, quietLogger, TEST_REDIS_URL } from '../testing/engines.js';
import { expectInOrderEndingWith, spin } from '../testing/slow-listeners.js';
import { eventBusContract } from './event-bus.contract.js';
import { resourceChannel } from './event-bus.js';
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
    await b.subscribe<number>('status:x', (m) => got.push(m));
    await other.subscribe<number>('status:x', (m) => strangers.push(m));
    await a.subscribe('status:x', () => undefined);
    for (let i = 0; i < 200; i++) await a.publish('status:x', i);
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

  it('on a resource channel, a node whose followers fall behind fans out the newest status, not every one', async () => {
    const prefix = freshRedisPrefix();
    const [a, b] = await Promise.all([connect(prefix), connect(prefix)]);
    const listeners = 300;
    const got: number[][] = Array.from({ length: listeners }, () => []);
    for (let i = 0; i < listeners; i++) {
      await b.subscribe<{ size: number }>(resourceChannel('x'), (m) => {
        spin(0.02); // a socket write
        got[i]?.push(m.size);
      });
    }
    const published = 300;
    // A burst, as from a writer on another machine while this node is busy: B reads them together.
    await Promise.all(
      Array.from({ length: published }, (_, i) =>
        a.publish(resourceChannel('x'), { id: 'x', state: 'IN_PROGRESS', size: i + 1, lines: null }),
      ),
    );
    for (let wait = 0; wait < 500 && got.some((sizes) => sizes[sizes.length - 1] !== published); wait++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expectInOrderEndingWith(got, published);
    // 300 listeners × 20 µs = 6 ms a fan-out: B does not fan out each of the burst, it skips ahead.
    expect(got[0]?.length, `${got[0]?.length} of ${published} fanned out`).to.be.below(published / 2);
    await Promise.all([a.close(), b.close()]);
  });

  it('stops the start with a clear message when Redis cannot be reached', async () => {
    const err = (await RedisEventBus.connect('redis://127.0.0.1:1', 'x:', quietLogger()).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/^Cannot use Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
