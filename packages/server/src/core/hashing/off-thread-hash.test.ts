import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { OffThreadHash } from './off-thread-hash.js';

describe('OffThreadHash', () => {
  it('equals node:crypto for any mix of small and large updates', async () => {
    const reference = createHash('md5');
    const hash = new OffThreadHash('md5');
    for (const size of [0, 1, 17, 65_535, 65_536, 65_537, 300_000, 3, 4096, 1_000_000]) {
      const data = randomBytes(size);
      reference.update(data);
      hash.update(data);
    }
    expect(await hash.digest()).to.equal(reference.digest('hex'));
  });

  it('keeps concurrent hashes apart and supports other algorithms', async () => {
    const a = new OffThreadHash('md5');
    const b = new OffThreadHash('sha256');
    a.update(Buffer.from('one'));
    b.update(Buffer.from('two'));
    expect(await Promise.all([a.digest(), b.digest()])).to.deep.equal([
      createHash('md5').update('one').digest('hex'),
      createHash('sha256').update('two').digest('hex'),
    ]);
  });

  it('hashes more than the ring holds, in order, across wrap-arounds', async () => {
    const reference = createHash('md5');
    const hash = new OffThreadHash('md5');
    for (let i = 0; i < 40; i++) {
      const data = Buffer.alloc(333_333 + i, i);
      reference.update(data);
      if (!hash.update(data)) await new Promise((resolve) => hash.once('drain', resolve));
    }
    expect(await hash.digest()).to.equal(reference.digest('hex'));
  });

  it('signals back-pressure once the shared ring is half full, then drains', async () => {
    const hash = new OffThreadHash('md5');
    let refused = false;
    for (let i = 0; i < 256 && !refused; i++) refused = !hash.update(Buffer.alloc(128 * 1024, i));
    expect(refused).to.equal(true);
    expect(hash.accepting).to.equal(false);
    await new Promise((resolve) => hash.once('drain', resolve));
    expect(hash.accepting).to.equal(true);
    expect(await hash.digest()).to.match(/^[0-9a-f]{32}$/);
  });

  it('refuses updates after digest', async () => {
    const hash = new OffThreadHash();
    await hash.digest();
    expect(() => hash.update(Buffer.from('x'))).to.throw(/after digest/);
  });
});

describe('OffThreadHash with misaligned inputs', () => {
  it('equals node:crypto for slices at every byte offset (alignment padding in the ring)', async () => {
    const reference = createHash('md5');
    const hash = new OffThreadHash('md5');
    const backing = randomBytes(3 * 1024 * 1024 + 64);
    for (let i = 0; i < 300; i++) {
      // Odd offsets and lengths, like WebSocket payloads after frame headers.
      const start = (i * 7) % 13;
      const slice = backing.subarray(start + i * 9000, start + i * 9000 + 1000 + ((i * 37) % 9000));
      reference.update(slice);
      if (!hash.update(slice)) await new Promise((resolve) => hash.once('drain', resolve));
    }
    expect(await hash.digest()).to.equal(reference.digest('hex'));
  });

  it('keeps interleaved hashes of misaligned slices apart across several wrap-arounds of the ring', async () => {
    const references = [createHash('md5'), createHash('md5')];
    const hashes = [new OffThreadHash('md5'), new OffThreadHash('md5')];
    const backing = randomBytes(1024 * 1024 + 64);
    for (let i = 0; i < 400; i++) {
      const which = i % 3 === 0 ? 1 : 0;
      const start = (i * 13) % 61;
      const slice = backing.subarray(start, start + 20_000 + ((i * 7919) % 60_000));
      references[which]?.update(slice);
      const hash = hashes[which] as OffThreadHash;
      if (!hash.update(slice)) await new Promise((resolve) => hash.once('drain', resolve));
    }
    expect(await Promise.all(hashes.map((h) => h.digest()))).to.deep.equal(references.map((r) => r.digest('hex')));
  });
});
