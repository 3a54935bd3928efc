import { appendFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { freshTempDir } from '../testing/temp-dirs.js';
import { ReadHandleCache } from './read-handle-cache.js';

async function fileWith(name: string, text: string): Promise<string> {
  const file = path.join(freshTempDir('handles'), name);
  await writeFile(file, text);
  return file;
}

async function readText(cache: ReadHandleCache, key: string, file: string): Promise<string> {
  return cache.use(key, file, async (handle) => {
    const buffer = Buffer.alloc(64);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.toString('utf8', 0, bytesRead);
  });
}

describe('ReadHandleCache', () => {
  it('keeps one handle per key and shows bytes appended after it opened', async () => {
    const cache = new ReadHandleCache(4);
    const file = await fileWith('a', 'one');
    const handles = await Promise.all([1, 2, 3].map(() => cache.use('a', file, async (h) => h)));
    expect(new Set(handles).size).to.equal(1);
    await appendFile(file, ' two');
    expect(await readText(cache, 'a', file)).to.equal('one two');
    expect(cache.size).to.equal(1);
    await cache.close();
  });

  it('holds at most its capacity, dropping the least recently used', async () => {
    const cache = new ReadHandleCache(2);
    const files = await Promise.all(['a', 'b', 'c'].map((name) => fileWith(name, name)));
    const [a, b, c] = files as [string, string, string];
    await readText(cache, 'a', a);
    await readText(cache, 'b', b);
    await readText(cache, 'a', a);
    await readText(cache, 'c', c);
    expect(cache.size).to.equal(2);
    expect(cache.has('a')).to.equal(true);
    expect(cache.has('b')).to.equal(false);
    expect(await readText(cache, 'b', b)).to.equal('b');
    await cache.close();
  });

  it('closes a dropped handle only after the reads using it finish', async () => {
    const cache = new ReadHandleCache(1);
    const file = await fileWith('a', 'still readable');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const slow = cache.use('a', file, async (handle) => {
      entered();
      await held;
      const buffer = Buffer.alloc(64);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return buffer.toString('utf8', 0, bytesRead);
    });
    await inside;
    await cache.forget('a');
    await cache.close();
    expect(cache.size).to.equal(0);
    release();
    expect(await slow).to.equal('still readable');
  });

  it('opens a deleted and re-created file anew once forgotten', async () => {
    const cache = new ReadHandleCache(4);
    const file = await fileWith('a', 'old');
    expect(await readText(cache, 'a', file)).to.equal('old');
    await rm(file);
    await cache.forget('a');
    await writeFile(file, 'new');
    expect(await readText(cache, 'a', file)).to.equal('new');
    await cache.close();
  });

  it('does not keep a failed open: a later read finds the file once it exists', async () => {
    const cache = new ReadHandleCache(4);
    const file = path.join(path.dirname(await fileWith('x', '')), 'later');
    const err = (await readText(cache, 'later', file).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.code).to.equal('ENOENT');
    expect(cache.size).to.equal(0);
    await writeFile(file, 'here');
    expect(await readText(cache, 'later', file)).to.equal('here');
    await cache.close();
  });

  it('reads without caching once closed, or with capacity 0', async () => {
    const file = await fileWith('a', 'text');
    const closed = new ReadHandleCache(4);
    await readText(closed, 'a', file);
    await closed.close();
    expect(closed.size).to.equal(0);
    expect(await readText(closed, 'a', file)).to.equal('text');
    expect(closed.size).to.equal(0);
    const none = new ReadHandleCache(0);
    expect(await readText(none, 'a', file)).to.equal('text');
    expect(none.size).to.equal(0);
  });
  it('lends a handle that stays open while leased, even once evicted, and closes it on the last release', async () => {
    const cache = new ReadHandleCache(1);
    const a = await fileWith('a', 'alpha');
    const b = await fileWith('b', 'beta');
    const lease = await cache.lease('a', a);
    const again = await cache.lease('a', a);
    expect(again.handle).to.equal(lease.handle);
    expect(await readText(cache, 'b', b)).to.equal('beta'); // evicts 'a' from the cache
    expect(cache.has('a')).to.equal(false);
    const buffer = Buffer.alloc(5);
    again.release();
    again.release(); // idempotent: must not count twice
    await lease.handle.read(buffer, 0, 5, 0); // still open: one lease left
    expect(buffer.toString()).to.equal('alpha');
    lease.release();
    // The close is asynchronous: poll (bounded) until a read on the handle fails.
    let closed: unknown;
    for (let i = 0; i < 200 && closed === undefined; i++) {
      closed = await lease.handle.read(buffer, 0, 5, 0).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (closed === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(closed).to.be.instanceOf(Error);
    await cache.close();
  });
});
