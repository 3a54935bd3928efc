import path from 'node:path';
import { expect } from 'chai';
import { freshTempDir } from '../testing/temp-dirs.js';
import type { ResourceRecord } from '../types.js';
import { CachingCatalog } from './caching-catalog.js';
import { catalogContract } from './catalog.contract.js';
import { SqliteCatalog } from './sqlite-catalog.js';

const freshPath = () => path.join(freshTempDir('caching-catalog'), 'catalog.sqlite');

/** Counts lookups reaching SQLite; `gate`, when set, holds each lookup until it resolves. */
class CountingCatalog extends SqliteCatalog {
  gets = 0;
  gate: Promise<void> | undefined;
  override async get(id: string): Promise<ResourceRecord | undefined> {
    this.gets++;
    const record = await super.get(id);
    await this.gate;
    return record;
  }
}

const meta = (id: string) => ({ id, filename: `${id}.log`, mimeType: 'text/plain', supportsLineAccess: true, contextId: null });
const done = { newlines: 0, lines: 0, state: 'COMPLETED', indexEntries: [] } as const;

catalogContract('CachingCatalog over SqliteCatalog', async () => new CachingCatalog(new SqliteCatalog(freshPath())));
catalogContract('CachingCatalog with capacity 1', async () => new CachingCatalog(new SqliteCatalog(freshPath()), 1));

describe('CachingCatalog', () => {
  it('looks a terminal record up once and an open one every time', async () => {
    const inner = new CountingCatalog(freshPath());
    const catalog = new CachingCatalog(inner);
    await catalog.create(meta('open'));
    await catalog.create(meta('done'));
    await catalog.checkpoint('done', { ...done, size: 3 });
    inner.gets = 0;
    for (let i = 0; i < 3; i++) {
      await catalog.get('open');
      await catalog.get('done');
    }
    expect(inner.gets).to.equal(4);
    const record = await catalog.get('done');
    expect(Object.isFrozen(record)).to.equal(true);
    await catalog.close();
  });

  it('keeps at most its capacity of records, dropping the least recently used', async () => {
    const inner = new CountingCatalog(freshPath());
    const catalog = new CachingCatalog(inner, 2);
    for (const id of ['a', 'b', 'c']) {
      await catalog.create(meta(id));
      await catalog.checkpoint(id, { ...done, size: 1 });
    }
    inner.gets = 0;
    await catalog.get('a');
    await catalog.get('b');
    await catalog.get('a');
    await catalog.get('c');
    expect(inner.gets).to.equal(3);
    await catalog.get('a');
    expect(inner.gets).to.equal(3);
    await catalog.get('b');
    expect(inner.gets).to.equal(4);
    await catalog.close();
  });

  it('does not keep a record read by a lookup that overlapped its deletion', async () => {
    const inner = new CountingCatalog(freshPath());
    const catalog = new CachingCatalog(inner);
    await catalog.create(meta('gone'));
    await catalog.checkpoint('gone', { ...done, size: 1 });
    let release: () => void = () => undefined;
    inner.gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const overlapping = catalog.get('gone');
    inner.gate = undefined;
    expect(await catalog.delete('gone')).to.equal(true);
    release();
    expect(await overlapping).to.include({ id: 'gone' });
    expect(await catalog.get('gone')).to.equal(undefined);
    await catalog.close();
  });
});
