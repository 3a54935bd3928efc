import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { looksLikeId, validateResourceName } from './names.js';

describe('resource names', () => {
  it('accepts path-like names', () => {
    for (const name of ['build.log', 'ci/1234/build.log', 'blob-sync/alice/default/b_1', 'a~b+c@d=e-f']) {
      expect(validateResourceName(name)).to.equal(name);
    }
  });

  it('refuses empty, ambiguous, unsafe or overlong names with INVALID_METADATA', () => {
    for (const name of [
      '',
      '/x',
      'x/',
      'a//b',
      '../x',
      'a/./b',
      'a b',
      'a%2Fb',
      'a?b',
      'é',
      'x'.repeat(513),
      '0190b4b4-0000-7000-8000-000000000000',
    ]) {
      let code: string | undefined;
      try {
        validateResourceName(name);
      } catch (err) {
        code = (err as SpoolError).code;
      }
      expect(code, JSON.stringify(name)).to.equal(ErrorCode.INVALID_METADATA);
    }
  });

  it('tells ids from names', () => {
    expect(looksLikeId('0190b4b4-0000-7000-8000-000000000000')).to.equal(true);
    expect(looksLikeId('ci/1/build.log')).to.equal(false);
  });
});
