import path from 'node:path';
import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import winston from 'winston';
import { FileByteStore } from '../storage/file-byte-store.js';
import { FullDisk } from '../testing/full-disk.js';
import { freshTempDir } from '../testing/temp-dirs.js';
import { catalogContract } from './catalog.contract.js';
import { DeferredWritesCatalog } from './deferred-writes-catalog.js';
import { SqliteCatalog } from './sqlite-catalog.js';

const logger = winston.createLogger({ silent: true });
const freshDir = () => freshTempDir('deferred');

catalogContract('DeferredWritesCatalog over SqliteCatalog', async () => {
  return new DeferredWritesCatalog(new SqliteCatalog(path.join(freshDir(), 'c.sqlite')), logger);
});

const meta = (id: string) => ({ id, filename: `${id}.log`, mimeType: 'text/plain', supportsLineAccess: true, contextId: null });
const at = (size: number, state: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED', error?: string) => ({
  size,
  newlines: 0,
  lines: 0,
  state,
  indexEntries: [],
  ...(error ? { error } : {}),
});
const codeOf = async (run: () => Promise<unknown>) => ((await run().catch((e: unknown) => e)) as SpoolError).code;

describe('DeferredWritesCatalog', () => {
  /** Over a SQLite catalog on a disk that is full once `disk.free` is 0; `real` is the SQLite catalog. */
  function onFullDisk() {
    const dir = freshDir();
    const real = new SqliteCatalog(path.join(dir, 'c.sqlite'));
    const disk = new FullDisk(new FileByteStore(dir), real);
    return { real, disk, catalog: new DeferredWritesCatalog(disk.catalog, logger) };
  }

  it('keeps a FAILED end it cannot write, shows it as recorded, and records it once it can', async () => {
    const { real, disk, catalog } = onFullDisk();
    await catalog.create(meta('a'));
    await catalog.checkpoint('a', at(5, 'IN_PROGRESS'));
    disk.free = 0;
    expect(await codeOf(() => catalog.checkpoint('a', at(6, 'IN_PROGRESS'))), 'progress is not deferred').to.equal('SQLITE_FULL');
    expect(await catalog.checkpoint('a', at(6, 'FAILED', 'ENOSPC'))).to.include({ state: 'FAILED', size: 6, error: 'ENOSPC' });
    expect(catalog.deferredCount).to.equal(1);
    expect(await catalog.get('a')).to.include({ state: 'FAILED', size: 6 });
    expect(await real.get('a')).to.include({ state: 'IN_PROGRESS', size: 5 });
    expect((await catalog.list()).map((r) => r.state)).to.deep.equal(['FAILED']);
    expect(await catalog.list({ state: 'IN_PROGRESS' })).to.deep.equal([]);
    expect(await codeOf(() => catalog.checkpoint('a', at(7, 'FAILED')))).to.equal(ErrorCode.RESOURCE_TERMINAL);
    expect(await catalog.recordDeferred()).to.equal(1);
    disk.free = 100;
    expect(await catalog.recordDeferred()).to.equal(0);
    expect(await real.get('a')).to.include({ state: 'FAILED', size: 6, error: 'ENOSPC' });
  });

  it('promises COMPLETED only once recorded, and passes refusals through', async () => {
    const { disk, catalog } = onFullDisk();
    await catalog.create(meta('c'));
    disk.free = 0;
    const full = await catalog.checkpoint('c', at(1, 'COMPLETED')).catch((e: Error) => e.message);
    expect(full).to.equal('database or disk is full');
    disk.free = 100;
    expect(await codeOf(() => catalog.checkpoint('nope', at(1, 'FAILED')))).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    expect(catalog.deferredCount).to.equal(0);
  });

  it('keeps a delete it cannot write: the resource is gone for every reader, pages stay full', async () => {
    const { real, disk, catalog } = onFullDisk();
    for (const id of ['r1', 'r2', 'r3']) await catalog.create({ ...meta(id), writeTokenHash: `${id}w`, readTokenHash: `${id}r` });
    disk.free = 0;
    expect(await catalog.delete('r1')).to.equal(true);
    expect(await catalog.get('r1')).to.equal(undefined);
    expect(await catalog.findByTokenHash('r1w')).to.equal(undefined);
    expect((await catalog.list({ limit: 2 })).map((r) => r.id)).to.deep.equal(['r2', 'r3']);
    expect(await catalog.delete('r1')).to.equal(false);
    expect(await codeOf(() => catalog.checkpoint('r1', at(1, 'FAILED')))).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
    expect(await real.get('r1')).to.include({ id: 'r1' });
    disk.free = 100;
    expect(await catalog.recordDeferred()).to.equal(0);
    expect(await real.get('r1')).to.equal(undefined);
  });
});
