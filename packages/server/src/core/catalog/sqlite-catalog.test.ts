import { chmodSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { freshTempDir } from '../testing/temp-dirs.js';
import { catalogContract } from './catalog.contract.js';
import { SqliteCatalog } from './sqlite-catalog.js';

const freshPath = () => path.join(freshTempDir('catalog'), 'catalog.sqlite');

catalogContract('SqliteCatalog', async () => new SqliteCatalog(freshPath()));

describe('SqliteCatalog', () => {
  it('persists across reopen', async () => {
    const file = freshPath();
    const first = new SqliteCatalog(file);
    await first.create({ id: 'p', filename: 'p.bin', mimeType: 'application/octet-stream', supportsLineAccess: false, contextId: 'c' });
    await first.checkpoint('p', { size: 42, newlines: 0, lines: 0, state: 'COMPLETED', checksum: 'ff', indexEntries: [] });
    await first.close();
    const second = new SqliteCatalog(file);
    expect(await second.get('p')).to.include({ size: 42, state: 'COMPLETED', checksum: 'ff', contextId: 'c', supportsLineAccess: false });
    await second.close();
  });

  it('keeps its database and -wal/-shm files 0600 (or fileMode), narrowing ones an older version left readable', async () => {
    const file = freshPath();
    const files = [file, `${file}-wal`, `${file}-shm`];
    const first = new SqliteCatalog(file);
    await first.create({ id: 'm', filename: 'm.log', mimeType: 'text/plain', supportsLineAccess: true, contextId: null });
    expect(files.map((f) => statSync(f).mode & 0o777)).to.deep.equal([0o600, 0o600, 0o600]);
    for (const f of files) chmodSync(f, 0o644);
    const second = new SqliteCatalog(file, { fileMode: 0o640 });
    expect(files.map((f) => statSync(f).mode & 0o777)).to.deep.equal([0o640, 0o640, 0o640]);
    expect(await second.get('m')).to.include({ id: 'm' });
    await second.close();
    await first.close();
  });
});
