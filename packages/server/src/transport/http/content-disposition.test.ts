import { expect } from 'chai';
import { contentDisposition, encodeExtValue } from './content-disposition.js';

describe('contentDisposition (RFC 6266 / RFC 8187)', () => {
  it('keeps a plain ASCII name as a quoted filename only', () => {
    expect(contentDisposition('build-17.log')).to.equal('inline; filename="build-17.log"');
    expect(contentDisposition('my report (v2).pdf', 'attachment')).to.equal('attachment; filename="my report (v2).pdf"');
  });

  it('adds filename* with the exact UTF-8 name when the fallback had to change it', () => {
    expect(contentDisposition('Résumé.pdf')).to.equal(`inline; filename="R_sum_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf`);
    expect(contentDisposition('日志.log')).to.equal(`inline; filename="__.log"; filename*=UTF-8''%E6%97%A5%E5%BF%97.log`);
  });

  it('never lets quotes, backslashes, percent signs or control characters into the quoted fallback', () => {
    expect(contentDisposition('a"b\\c%41.txt')).to.equal(`inline; filename="a_b_c_41.txt"; filename*=UTF-8''a%22b%5Cc%2541.txt`);
    const header = contentDisposition('evil\r\nSet-Cookie: x=1.txt');
    expect(header).to.not.match(/[\r\n]/);
    expect(header).to.include(`filename*=UTF-8''evil%0D%0ASet-Cookie%3A%20x%3D1.txt`);
  });

  it('percent-encodes everything outside attr-char, including the characters encodeURIComponent keeps', () => {
    expect(encodeExtValue("it's (a) *test*")).to.equal('it%27s%20%28a%29%20%2Atest%2A');
    expect(encodeExtValue('a!#$&+-.^_`|~z')).to.equal('a!%23%24%26%2B-.%5E_%60%7C~z');
  });

  it('survives lone surrogates (replaced by U+FFFD)', () => {
    expect(encodeExtValue('x\uD800y')).to.equal('x%EF%BF%BDy');
  });
});
