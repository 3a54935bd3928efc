/**
 * The data directory is private to the server's user: the directory and `blobs/` 0700,
 * every file in them (blobs, `catalog.sqlite` and SQLite's `-wal`/`-shm`) 0600, or the
 * configured `dataDirMode` / `dataFileMode`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { request } from './helpers/http-client.js';
import { freshDataDir, startTestServer } from './helpers/server.js';

const modeOf = (file: string) => statSync(file).mode & 0o777;

/** Uploads one file so every kind of data file exists, and returns the modes of all of them. */
async function modesAfterAnUpload(server: SpoolServer, dataDir: string): Promise<Record<string, number>> {
  const res = await request(`${server.url}/api/v1/uploads/private.log`, { method: 'PUT', body: 'secret\n' });
  expect(res.status).to.equal(201);
  const blobs = path.join(dataDir, 'blobs');
  const files = ['catalog.sqlite', 'catalog.sqlite-wal', 'catalog.sqlite-shm'].map((f) => path.join(dataDir, f));
  for (const file of files) expect(existsSync(file), file).to.equal(true);
  files.push(...readdirSync(blobs).map((f) => path.join(blobs, f)));
  expect(files).to.have.length(4);
  const modes: Record<string, number> = { [dataDir]: modeOf(dataDir), [blobs]: modeOf(blobs) };
  for (const file of files) modes[file] = modeOf(file);
  return modes;
}

const expectedModes = (modes: Record<string, number>, dataDir: string, dirMode: number, fileMode: number) =>
  Object.fromEntries(Object.keys(modes).map((p) => [p, p === dataDir || p.endsWith('blobs') ? dirMode : fileMode]));

describe('Data directory permissions', () => {
  it('keeps the data private by default: directories 0700, files 0600 (blobs, catalog and its -wal/-shm)', async () => {
    const dataDir = path.join(freshDataDir(), 'data');
    const server = await startTestServer({ dataDir });
    try {
      const modes = await modesAfterAnUpload(server, dataDir);
      expect(modes).to.deep.equal(expectedModes(modes, dataDir, 0o700, 0o600));
    } finally {
      await server.close();
    }
  });

  it('applies the configured dataDirMode and dataFileMode (octal)', async () => {
    const dataDir = path.join(freshDataDir(), 'shared');
    const server = await startTestServer({ dataDir, dataDirMode: '0750', dataFileMode: '0640' });
    try {
      const modes = await modesAfterAnUpload(server, dataDir);
      expect(modes).to.deep.equal(expectedModes(modes, dataDir, 0o750, 0o640));
    } finally {
      await server.close();
    }
  });
});
