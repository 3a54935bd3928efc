import {
  ChecksumMismatchError,
  InvalidMessageError,
  OffsetMismatchError,
  ResourceNotFoundError,
  ResourceTerminalError,
  UnauthorizedError,
  UploadFailedError,
  WriterConflictError,
} from '@spool/common';
import { expect } from 'chai';
import { HttpError, HttpErrorCode } from '../../transport/http/errors.js';
import { tusErrorResponse } from './error-response.js';

describe('tus error mapping', () => {
  it('answers every error in plain text with Tus-Resumable, with the tus statuses', () => {
    const cases: [unknown, number][] = [
      [new ResourceNotFoundError('u1'), 404],
      [new OffsetMismatchError('u1', 5, 3), 409],
      [new WriterConflictError('u1'), 423],
      [new ChecksumMismatchError('a', 'b'), 460],
      [new ResourceTerminalError('u1', 'FAILED'), 410],
      [new ResourceTerminalError('u1', 'COMPLETED'), 409],
      [new UploadFailedError('u1', 'Not resumed within 10 ms'), 410],
      [new InvalidMessageError('Upload-Offset must be a non-negative integer'), 400],
      [new HttpError(412, HttpErrorCode.PRECONDITION_FAILED, 'no', { 'Tus-Version': '1.0.0' }), 412],
      [new UnauthorizedError(), 401],
      [new Error('a bug'), 500],
    ];
    for (const [err, status] of cases) {
      const answer = tusErrorResponse(err);
      expect(answer.status, String(err)).to.equal(status);
      expect(answer.headers['Tus-Resumable']).to.equal('1.0.0');
      expect(answer.body)
        .to.be.a('string')
        .and.match(/^[A-Z_]+: .+\n$/);
    }
    expect(tusErrorResponse(new OffsetMismatchError('u1', 5, 3)).body).to.equal(
      'OFFSET_MISMATCH: Resource u1 is at offset 5, write was at 3\n',
    );
    expect(tusErrorResponse(new OffsetMismatchError('u1', 5, 3)).headers['Upload-Offset']).to.equal('5');
    expect(tusErrorResponse(new UnauthorizedError()).headers['WWW-Authenticate']).to.equal('Bearer');
    // Unexpected errors are not echoed.
    expect(tusErrorResponse(new Error('secret detail')).body).to.not.include('secret');
  });
});
