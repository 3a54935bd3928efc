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
import { httpContentUri, parseResourceLocation, resourceUrl } from './resource-location.js';
import { errorFromSpoolClose, errorFromSpoolWire, isRetryableClose } from './spool-errors.js';
import { spoolUploadUrl, withBearer } from './spool-urls.js';

describe('Spool SDK helpers', () => {
  it('builds the upload URL from ws and http bases, keeping a token', () => {
    expect(spoolUploadUrl('http://h:1').href).to.equal('ws://h:1/ws/spool/v1/upload');
    expect(spoolUploadUrl('https://h/prefix/?token=t').href).to.equal('wss://h/prefix/ws/spool/v1/upload?token=t');
    expect(spoolUploadUrl('ws://h:1/ws/spool/v1/upload').href).to.equal('ws://h:1/ws/spool/v1/upload');
  });

  it("maps every URI of a resource (Spool, Step, the HTTP links) to one protocol's endpoint on the same server, token kept", () => {
    const spoolOf = (location: Parameters<typeof parseResourceLocation>[0], server?: string) => {
      const parsed = parseResourceLocation(location, server);
      return [resourceUrl(parsed, '/ws/spool/v1/resources/').href, parsed.ref];
    };
    const cases: [Parameters<typeof parseResourceLocation>[0], string | undefined, string, string][] = [
      ['ws://h:1/ws/spool/v1/resources/abc?token=spr_x', undefined, 'ws://h:1/ws/spool/v1/resources/abc?token=spr_x', 'abc'],
      [
        'http://h:1/base/ws/streaming/download/a%20b?token=spr_y',
        undefined,
        'ws://h:1/base/ws/spool/v1/resources/a%20b?token=spr_y',
        'a b',
      ],
      ['https://h/api/v1/resources/abc/content?token=t', undefined, 'wss://h/ws/spool/v1/resources/abc?token=t', 'abc'],
      ['http://h:1/api/v1/resources/ci%2F7%2Fb.log', undefined, 'ws://h:1/ws/spool/v1/resources/ci/7/b.log', 'ci/7/b.log'],
      ['http://h:1/p/api/v1/names/ci/7/b.log?follow=1', undefined, 'ws://h:1/p/ws/spool/v1/resources/ci/7/b.log?follow=1', 'ci/7/b.log'],
      [{ uri: 'ws://h:1/ws/streaming/download/abc' }, undefined, 'ws://h:1/ws/spool/v1/resources/abc', 'abc'],
      // By id or name: on the client's server.
      ['ci/7/b.log', 'http://h:1/p/', 'ws://h:1/p/ws/spool/v1/resources/ci/7/b.log', 'ci/7/b.log'],
      [{ id: 'abc' }, 'https://h', 'wss://h/ws/spool/v1/resources/abc', 'abc'],
      [{ name: 'a b/c' }, 'ws://h', 'ws://h/ws/spool/v1/resources/a%20b/c', 'a b/c'],
    ];
    for (const [location, server, url, ref] of cases) expect(spoolOf(location, server), JSON.stringify(location)).to.deep.equal([url, ref]);
    for (const bad of ['ws://h:1/api/v1/other/abc', 'ws://h:1/ws/spool/v1/resources/', 'ftp://h/ws/spool/v1/resources/x', 'http://[bad']) {
      expect(() => parseResourceLocation(bad), bad)
        .to.throw(SpoolError)
        .with.property('code', ErrorCode.INVALID_METADATA);
    }
    expect(() => parseResourceLocation('ci/7/b.log')).to.throw(/needs the server/);
  });

  it('makes the link a person can open from a reference', () => {
    expect(httpContentUri('ws://h:1/ws/streaming/download/abc?token=spr_x')).to.equal(
      'http://h:1/api/v1/resources/abc/content?token=spr_x',
    );
    expect(httpContentUri('wss://h/p/ws/spool/v1/resources/ci/7/b.log')).to.equal('https://h/p/api/v1/resources/ci%2F7%2Fb.log/content');
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
