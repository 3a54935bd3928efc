import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import type { Request } from 'express';
import { blobCredential } from './credential.js';

const requestOf = (authorization: string | undefined, user = 'alice') =>
  ({ headers: authorization === undefined ? {} : { authorization }, params: { user } }) as unknown as Request;
const token = (text: string) => `Token ${Buffer.from(text).toString('base64')}`;

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return `${(err as SpoolError).code}: ${(err as Error).message}`;
  }
  return 'accepted';
}

describe('blob-sync credential (Authorization: Token base64(user:token))', () => {
  const on = blobCredential(true);

  it("takes the token of the path's user; the standard credential otherwise", () => {
    expect(on(requestOf(token('alice:s3cret:with:colons')), 'standard')).to.equal('s3cret:with:colons');
    expect(on(requestOf(undefined), 'standard')).to.equal('standard');
    expect(on(requestOf('Bearer abc'), 'abc')).to.equal('abc');
  });

  it("refuses another user's credentials and malformed ones with 401, naming no secret", () => {
    expect(refusal(() => on(requestOf(token('bob:s3cret')), undefined))).to.equal(
      `${ErrorCode.UNAUTHORIZED}: The Token credential is for user "bob", this path is user "alice"'s`,
    );
    for (const header of [token('no-colon'), token(':token'), token('alice:'), 'Token', 'Token !!!']) {
      const answer = refusal(() => on(requestOf(header), undefined));
      expect(answer, header).to.match(/^UNAUTHORIZED: Malformed Authorization header/);
      expect(answer).to.not.include('s3cret');
    }
  });

  it('ignores credentials when access control is off', () => {
    expect(blobCredential(false)(requestOf(token('bob:x')), undefined)).to.equal(undefined);
  });
});
