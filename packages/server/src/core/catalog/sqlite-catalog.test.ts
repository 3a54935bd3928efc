import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { catalogContract } from './catalog.contract.js';
import { SqliteCatalog } from './sqlite-catalog.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const freshPath = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-catalog-'));
  dirs.push(dir);
  return path.join(dir, 'catalog.sqlite');
};

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
});
