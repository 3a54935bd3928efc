import { expect } from 'chai';
import { requestedChecksums, type SpoolUploadSettings } from './spool-upload.js';

const settings = (over: Partial<SpoolUploadSettings>) =>
  ({ verifyChecksum: true, verifyMd5: false, sha256: false, ...over }) as SpoolUploadSettings;

describe('Spool upload: the checksums asked of the server', () => {
  it("leaves the server's default unless the caller chose: a checksum verified but not computed is read back at finish", () => {
    expect(requestedChecksums(settings({}))).to.equal(undefined);
    expect(requestedChecksums(settings({ verifyMd5: true }))).to.equal(undefined);
  });

  it('adds those the client verifies to a choice, in canonical order', () => {
    expect(requestedChecksums(settings({ checksums: ['sha256'] }))).to.deep.equal(['crc32', 'sha256']);
    expect(requestedChecksums(settings({ checksums: ['md5'], verifyMd5: true, verifyChecksum: false }))).to.deep.equal(['md5']);
    expect(requestedChecksums(settings({ checksums: [], verifyChecksum: false }))).to.deep.equal([]);
  });
});
