import { expect } from 'chai';
import { Crc32, checksumBase64ToHex, checksumHexToBase64, checksumMismatches, isChecksumHex, parseChecksumChoice } from './checksums.js';

describe('checksums', () => {
  it('computes CRC-32 incrementally, as zlib and S3 do', () => {
    // The check value of CRC-32/ISO-HDLC.
    expect(new Crc32().update(Buffer.from('123456789')).hex()).to.equal('cbf43926');
    expect(new Crc32().update(Buffer.from('12345')).update(Buffer.from('6789')).hex()).to.equal('cbf43926');
    expect(new Crc32().hex()).to.equal('00000000');
  });

  it('parses a choice into canonical order, none as empty, and refuses unknown names', () => {
    expect(parseChecksumChoice('sha256, CRC32')).to.deep.equal(['crc32', 'sha256']);
    expect(parseChecksumChoice('none')).to.deep.equal([]);
    expect(() => parseChecksumChoice('crc64')).to.throw(TypeError, /crc64/);
    expect(() => parseChecksumChoice('')).to.throw(TypeError);
    expect(() => parseChecksumChoice('none,md5')).to.throw(TypeError);
  });

  it('converts between hex and base64 and checks lengths', () => {
    expect(checksumHexToBase64('cbf43926')).to.equal('y/Q5Jg==');
    expect(checksumBase64ToHex('crc32', 'y/Q5Jg==')).to.equal('cbf43926');
    expect(checksumBase64ToHex('md5', 'y/Q5Jg==')).to.equal(undefined);
    expect(checksumBase64ToHex('crc32', 'not base64!')).to.equal(undefined);
    expect(isChecksumHex('crc32', 'CBF43926')).to.equal(true);
    expect(isChecksumHex('md5', 'cbf43926')).to.equal(false);
  });

  it('lists the algorithms whose values disagree', () => {
    expect(checksumMismatches({ crc32: 'CBF43926', md5: 'aa' }, { crc32: 'cbf43926' })).to.deep.equal([]);
    expect(checksumMismatches({ crc32: '00000000' }, { crc32: 'cbf43926' })).to.deep.equal([['crc32', '00000000', 'cbf43926']]);
  });
});
