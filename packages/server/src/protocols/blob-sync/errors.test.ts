import { InvalidRangeError, NameTakenError, UnauthorizedError } from '@spool/common';
import { expect } from 'chai';
import { HttpError, HttpErrorCode } from '../../transport/http/errors.js';
import { blobNotFound } from './blob-space.js';
import { asBlobError, blobErrorFor } from './errors.js';

describe('blob-sync error bodies', () => {
  it('answers its own errors with the original name and their fields', () => {
    expect(blobErrorFor(blobNotFound(['a', 'b'], '2 missing'))).to.deep.equal({
      status: 404,
      headers: {},
      body: { name: 'BlobNotFound', code: 'RESOURCE_NOT_FOUND', message: '2 missing', missing: ['a', 'b'] },
    });
  });

  it("reshapes the server's mapping: same status and headers, {name, code, message}", () => {
    const range = blobErrorFor(new InvalidRangeError('no', { size: 5 }));
    expect([range.status, range.headers, range.body.name]).to.deep.equal([416, { 'Content-Range': 'bytes */5' }, 'RangeNotSatisfiable']);
    expect(blobErrorFor(new NameTakenError('x', 'id')).body.name).to.equal('BlobExists');
    const unauthorized = blobErrorFor(new UnauthorizedError());
    expect([unauthorized.status, unauthorized.headers['WWW-Authenticate'], unauthorized.body.name]).to.deep.equal([
      401,
      'Token, Bearer',
      'Unauthorized',
    ]);
    expect(blobErrorFor(new HttpError(405, HttpErrorCode.METHOD_NOT_ALLOWED, 'no')).body.name).to.equal('MethodNotAllowed');
    expect(blobErrorFor(new Error('secret detail')).body).to.deep.equal({
      name: 'Internal',
      code: 'INTERNAL',
      message: 'Internal server error (see the server log)',
    });
  });

  it('adds fields to any error (what a failed stream stored)', () => {
    const answer = blobErrorFor(asBlobError(new UnauthorizedError()).with({ stored: 3 }));
    expect(answer.status).to.equal(401);
    expect(answer.body).to.include({ name: 'Unauthorized', stored: 3 });
  });
});
