import { chmodSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { freshTempDir } from '../testing/temp-dirs.js';
import { byteStoreContract } from './byte-store.contract.js';
import { FileByteStore } from './file-byte-store.js';

const freshDir = () => freshTempDir('store');

byteStoreContract('FileByteStore', async () => new FileByteStore(freshDir()));

describe('FileByteStore', () => {
  it('keeps blobs/ 0700 and resource files 0600 (or the modes given), narrowing ones an older version left readable', async () => {
    const dir = freshDir();
    const modeOf = (p: string) => statSync(p).mode & 0o777;
    const store = new FileByteStore(dir);
    await (await store.openWriter('fresh')).close();
    expect([modeOf(path.join(dir, 'blobs')), modeOf(path.join(dir, 'blobs', 'fresh'))]).to.deep.equal([0o700, 0o600]);
    chmodSync(path.join(dir, 'blobs'), 0o755);
    chmodSync(path.join(dir, 'blobs', 'fresh'), 0o644);
    const configured = new FileByteStore(dir, { fileMode: 0o640, dirMode: 0o750 });
    await (await configured.openWriter('fresh')).close();
    expect([modeOf(path.join(dir, 'blobs')), modeOf(path.join(dir, 'blobs', 'fresh'))]).to.deep.equal([0o750, 0o640]);
  });

  it('keeps order and positions when small appends (written on the loop) and large ones (the thread pool) alternate', async () => {
    const dir = freshDir();
    const store = new FileByteStore(dir);
    const writer = await store.openWriter('mixed');
    const pieces = [
      Buffer.from('a'),
      Buffer.alloc(16 * 1024, 1),
      Buffer.alloc(16 * 1024 + 1, 2),
      Buffer.from('bc'),
      Buffer.alloc(300_000, 3),
    ];
    for (const piece of pieces) await writer.append([piece, Buffer.from('|')]);
    await writer.close();
    const expected = Buffer.concat(pieces.flatMap((piece) => [piece, Buffer.from('|')]));
    expect(readFileSync(path.join(dir, 'blobs', 'mixed')).equals(expected)).to.equal(true);
    const closed = (await writer.append([Buffer.from('x')]).catch((e: unknown) => e)) as SpoolError;
    expect(closed.code).to.equal(ErrorCode.STORAGE_FAILURE);
  });

  it('refuses ids that are not safe file names', async () => {
    const store = new FileByteStore(freshDir());
    const err = (await store.openWriter('../escape').catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.STORAGE_FAILURE);
  });

  it('streams ranges in 1 MiB reads, and fails with STORAGE_FAILURE when the file is shorter than asked', async () => {
    const store = new FileByteStore(freshDir());
    const writer = await store.openWriter('r1');
    const data = Buffer.alloc(2.5 * 1024 * 1024, 7);
    await writer.append([data]);
    await writer.close();
    const chunks: Buffer[] = [];
    for await (const chunk of store.createReadStream('r1', 1, data.length) as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(chunks.map((c) => c.length)).to.deep.equal([1024 * 1024, 1024 * 1024, data.length - 1 - 2 * 1024 * 1024]);
    await store.truncate('r1', 10);
    const err = (await (async () => {
      for await (const _ of store.createReadStream('r1', 0, 20)) {
        // drain
      }
    })().catch((e: unknown) => e)) as SpoolError;
    expect(err.code).to.equal(ErrorCode.STORAGE_FAILURE);
    await store.delete('r1');
  });
});
