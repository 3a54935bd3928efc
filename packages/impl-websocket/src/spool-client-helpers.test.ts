import {
  ChecksumMismatchError,
  ConnectionClosedError,
  ErrorCode,
  OffsetMismatchError,
  ResourceNotFoundError,
  SpoolError,
  WriterConflictError,
} from '@spool/common';
import { expect } from 'chai';
import { errorFromSpoolClose, errorFromSpoolWire, isRetryableClose } from './spool-errors.js';
import { spoolResourceLocation, spoolUploadUrl, withBearer } from './spool-urls.js';

describe('Spool SDK helpers', () => {
  it('builds the upload URL from ws and http bases, keeping a token', () => {
    expect(spoolUploadUrl('http://h:1').href).to.equal('ws://h:1/ws/spool/v1/upload');
    expect(spoolUploadUrl('https://h/prefix/?token=t').href).to.equal('wss://h/prefix/ws/spool/v1/upload?token=t');
    expect(spoolUploadUrl('ws://h:1/ws/spool/v1/upload').href).to.equal('ws://h:1/ws/spool/v1/upload');
  });

  it('maps Spool and Step resource URIs to the Spool resource endpoint', () => {
    const spool = spoolResourceLocation('ws://h:1/ws/spool/v1/resources/abc?token=spr_x');
    expect([spool.url.href, spool.id]).to.deep.equal(['ws://h:1/ws/spool/v1/resources/abc?token=spr_x', 'abc']);
    const step = spoolResourceLocation('http://h:1/base/ws/streaming/download/a%20b?token=spr_y');
    expect([step.url.href, step.id]).to.deep.equal(['ws://h:1/base/ws/spool/v1/resources/a%20b?token=spr_y', 'a b']);
    expect(() => spoolResourceLocation('ws://h:1/api/v1/resources/abc')).to.throw(TypeError);
    expect(() => spoolResourceLocation('ws://h:1/ws/spool/v1/resources/')).to.throw(TypeError);
  });

  it('replaces any authorization header with the Bearer token', () => {
    expect(withBearer({ Authorization: 'Bearer api', 'x-a': '1' }, 'spw_1')).to.deep.equal({ 'x-a': '1', authorization: 'Bearer spw_1' });
    expect(withBearer({ a: '1' }, undefined)).to.deep.equal({ a: '1' });
  });

  it('maps wire errors to the typed error of their code, with the server message and details', () => {
    const notFound = errorFromSpoolWire(
      { code: 'RESOURCE_NOT_FOUND', message: 'Unknown resource x', details: { id: 'x' } },
      { closeCode: 1008 },
    );
    expect(notFound).to.be.instanceOf(ResourceNotFoundError);
    expect(notFound.details).to.deep.equal({ id: 'x', closeCode: 1008 });
    const offset = errorFromSpoolWire({
      code: 'OFFSET_MISMATCH',
      message: 'Resource x is at offset 5, write was at 3',
      details: { id: 'x', expected: 5, got: 3 },
    });
    expect(offset).to.be.instanceOf(OffsetMismatchError);
    expect(offset.message).to.equal('Resource x is at offset 5, write was at 3');
    expect(errorFromSpoolWire({ code: 'WRITER_CONFLICT', message: 'm', details: { id: 'x' } })).to.be.instanceOf(WriterConflictError);
    expect(errorFromSpoolWire({ code: 'CHECKSUM_MISMATCH', message: 'm', details: { expected: 'a', actual: 'b' } })).to.be.instanceOf(
      ChecksumMismatchError,
    );
    const future = errorFromSpoolWire({ code: 'SOMETHING_NEW', message: 'from a newer server' });
    expect(future).to.be.instanceOf(SpoolError);
    expect(future.code).to.equal(ErrorCode.INTERNAL);
    expect(future.details).to.deep.equal({ serverCode: 'SOMETHING_NEW' });
  });

  it('maps closes: a CODE: reason like the error message, anything else as a lost or closed connection', () => {
    const conflict = errorFromSpoolClose(1008, 'WRITER_CONFLICT: Resource x already has a writer');
    expect(conflict.code).to.equal(ErrorCode.WRITER_CONFLICT);
    expect(conflict.details).to.include({ closeCode: 1008 });
    expect(errorFromSpoolClose(1006, '')).to.be.instanceOf(ConnectionClosedError);
    expect([1006, 1012, 1013].map((code) => isRetryableClose(code, false))).to.deep.equal([true, true, true]);
    expect([isRetryableClose(1001, false), isRetryableClose(1001, true), isRetryableClose(1008, true)]).to.deep.equal([false, true, false]);
  });
});
