import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { byteStoreContract } from './byte-store.contract.js';
import { FileByteStore } from './file-byte-store.js';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-store-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

byteStoreContract('FileByteStore', async () => new FileByteStore(freshDir()));

describe('FileByteStore', () => {
  it('refuses ids that are not safe file names', async () => {
    const store = new FileByteStore(freshDir());
    const err = (await store.openWriter('../escape').catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.STORAGE_FAILURE);
  });
});
