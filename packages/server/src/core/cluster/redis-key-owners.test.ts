import { expect } from 'chai';
import { freshRedisPrefix, quietLogger, TEST_REDIS_URL } from '../testing/engines.js';
import { RedisKeyOwners } from './redis-key-owners.js';

async function node(prefix: string, url: string): Promise<RedisKeyOwners> {
  const owners = await RedisKeyOwners.connect(TEST_REDIS_URL, prefix, quietLogger());
  owners.attach(url);
  return owners;
}

/** Lets the fire-and-forget release reach Redis (a claim behind it on the same connection answers after it). */
const settled = (owners: RedisKeyOwners) => owners.claim('settle').then((o) => o.here && o.release());

describe('RedisKeyOwners', () => {
  it('gives a key to the first node that claims it, tells the others where it is, and frees it once every claim is released', async () => {
    const prefix = freshRedisPrefix();
    const [a, b] = [await node(prefix, 'http://a:1'), await node(prefix, 'http://b:2')];
    const first = await a.claim('pipe:/x');
    const second = await a.claim('pipe:/x');
    expect(first.here && second.here).to.equal(true);
    expect(await b.claim('pipe:/x')).to.deep.equal({ here: false, nodeUrl: 'http://a:1' });
    if (first.here) first.release();
    await settled(a);
    // One claim still held on A: the key stays A's.
    expect(await b.claim('pipe:/x')).to.deep.equal({ here: false, nodeUrl: 'http://a:1' });
    if (second.here) second.release();
    await settled(a);
    const taken = await b.claim('pipe:/x');
    expect(taken.here).to.equal(true);
    expect(await a.claim('pipe:/x')).to.deep.equal({ here: false, nodeUrl: 'http://b:2' });
    await Promise.all([a.close(), b.close()]);
  });

  it('forgets a key only while the node named still holds it, and keeps prefixes apart', async () => {
    const prefix = freshRedisPrefix();
    const [a, b, stranger] = [
      await node(prefix, 'http://a:1'),
      await node(prefix, 'http://b:2'),
      await node(freshRedisPrefix(), 'http://c:3'),
    ];
    await a.claim('k');
    expect((await stranger.claim('k')).here).to.equal(true);
    await b.forget('k', 'http://someone-else:9');
    expect(await b.claim('k')).to.deep.equal({ here: false, nodeUrl: 'http://a:1' });
    await b.forget('k', 'http://a:1');
    expect((await b.claim('k')).here).to.equal(true);
    await Promise.all([a.close(), b.close(), stranger.close()]);
  });

  it('names the other nodes holding keys under a prefix, each once, taking glob characters literally', async () => {
    const prefix = `${freshRedisPrefix()}[*]?`;
    const [a, b, c] = [await node(prefix, 'http://a:1'), await node(prefix, 'http://b:2'), await node(prefix, 'http://c:3')];
    await a.claim('rendezvous:1');
    await a.claim('rendezvous:2');
    await b.claim('rendezvous:3');
    await c.claim('pipe:/rendezvous:4');
    expect((await c.otherHolders('rendezvous:')).sort()).to.deep.equal(['http://a:1', 'http://b:2']);
    expect(await a.otherHolders('rendezvous:')).to.deep.equal(['http://b:2']);
    expect(await a.otherHolders('rendezvous:*')).to.deep.equal([]);
    expect(await a.otherHolders('pipe:')).to.deep.equal(['http://c:3']);
    const elsewhere = await node(freshRedisPrefix(), 'http://d:4');
    expect(await elsewhere.otherHolders('rendezvous:')).to.deep.equal([]);
    await Promise.all([a.close(), b.close(), c.close(), elsewhere.close()]);
  });

  it('refuses to claim before the node knows its own URL', async () => {
    const owners = await RedisKeyOwners.connect(TEST_REDIS_URL, freshRedisPrefix(), quietLogger());
    let error: unknown;
    await owners.claim('k').catch((err: unknown) => {
      error = err;
    });
    expect((error as Error).message).to.match(/before the node listens/);
    await owners.close();
  });
});
