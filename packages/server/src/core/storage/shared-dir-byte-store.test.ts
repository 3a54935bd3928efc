import { expect } from 'chai';
import { freshTempDir } from '../testing/temp-dirs.js';
import { byteStoreContract, fencedByteStoreContract } from './byte-store.contract.js';
import { SharedDirByteStore, visiblePieces } from './shared-dir-byte-store.js';

const fresh = async () => new SharedDirByteStore(freshTempDir('shared'));
byteStoreContract('SharedDirByteStore', fresh);
fencedByteStoreContract('SharedDirByteStore', fresh);

describe('SharedDirByteStore', () => {
  it('shows each segment up to where a newer lease’s segment starts', () => {
    const seg = (start: number, token: number, length: number) => ({ file: `${start}.${token}`, start, token, length });
    const pieces = visiblePieces([seg(0, 1, 150), seg(80, 2, 40), seg(80, 1, 5), seg(200, 1, 10)]);
    expect(pieces.map((p) => [p.segment.file, p.start, p.end])).to.deep.equal([
      ['0.1', 0, 80],
      ['80.2', 80, 120],
    ]);
  });

  it('sees the bytes another node’s store instance appends (one directory, two stores)', async () => {
    const dir = freshTempDir('shared');
    const [a, b] = [new SharedDirByteStore(dir), new SharedDirByteStore(dir)];
    const writer = await a.openWriter('x', { fence: 1 });
    await writer.append([Buffer.from('from a')]);
    expect((await b.read('x', 0, 6)).toString()).to.equal('from a');
    await writer.append([Buffer.from('!')]);
    expect(await b.size('x')).to.equal(7);
    await writer.close();
  });
});
