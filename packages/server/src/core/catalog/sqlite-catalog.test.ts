import { chmodSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
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

  it('migrates a catalog written before names: its resources keep everything and get no name', async () => {
    const file = freshPath();
    const old = new Database(file);
    old.exec(`CREATE TABLE resources (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, filename TEXT NOT NULL,
      mime_type TEXT NOT NULL, supports_line_access INTEGER NOT NULL, context_id TEXT, resumable INTEGER NOT NULL DEFAULT 0,
      write_token_hash TEXT, read_token_hash TEXT, state TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,
      newlines INTEGER NOT NULL DEFAULT 0, lines INTEGER NOT NULL DEFAULT 0, checksum TEXT, error TEXT,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, completed_at INTEGER);
      INSERT INTO resources (id, filename, mime_type, supports_line_access, state, size, checksum, created_at, updated_at)
        VALUES ('old', 'old.log', 'text/plain', 1, 'COMPLETED', 9, 'ff', 1, 1);`);
    old.close();
    const catalog = new SqliteCatalog(file);
    expect(await catalog.get('old')).to.include({ size: 9, state: 'COMPLETED', name: null, checksum: 'ff' });
    // The MD5 recorded before several checksums is among them.
    expect((await catalog.get('old'))?.checksums).to.deep.equal({ md5: 'ff' });
    await catalog.create({
      id: 'new',
      name: 'ci/new.log',
      filename: 'n.log',
      mimeType: 'text/plain',
      supportsLineAccess: true,
      contextId: null,
    });
    expect((await catalog.findByName('ci/new.log'))?.id).to.equal('new');
    await catalog.close();
    const reopened = new SqliteCatalog(file);
    expect((await reopened.findByName('ci/new.log'))?.id).to.equal('new');
    await reopened.close();
  });
});
