import { createHash } from 'node:crypto';
import { Crc32, ErrorCode, SpoolError } from '@spool/common';
import { expect } from 'chai';
import type { Request } from 'express';
import fc from 'fast-check';
import { HttpError } from '../../transport/http/errors.js';
import {
  CHECKSUM_ALGORITHMS,
  declaredLengthOf,
  MAX_CONCAT_PARTS,
  parseUploadChecksum,
  parseUploadConcat,
  parseUploadMetadata,
  requireOffsetOctetStream,
  requireTusResumable,
  uploadOffsetOf,
} from './headers.js';

const requestWith = (headers: Record<string, string | undefined>) =>
  ({ headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) }) as unknown as Request;

/** A parser either answers or refuses with a 400 (INVALID_MESSAGE): never anything else. */
function refusedAsBadRequest(parse: () => unknown): boolean {
  try {
    parse();
    return false;
  } catch (err) {
    if (err instanceof SpoolError && err.code === ErrorCode.INVALID_MESSAGE) return true;
    throw err;
  }
}

/** Whatever `header` holds, `parse` answers (then `check` holds of it) or refuses with a 400. */
function answersOrRefuses<T>(parse: (header: string) => T, check: (parsed: T) => void = () => undefined): void {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (header) => {
      try {
        check(parse(header));
      } catch (err) {
        expect(err).to.be.instanceOf(SpoolError).with.property('code', ErrorCode.INVALID_MESSAGE);
      }
    }),
    { numRuns: 2000 },
  );
}

const metadataKey = fc.string({ minLength: 1, maxLength: 12 }).filter((key) => !/[\s,]/.test(key));

describe('tus headers', () => {
  it('requires Tus-Resumable: 1.0.0 (412 with Tus-Version otherwise)', () => {
    expect(() => requireTusResumable(requestWith({ 'Tus-Resumable': '1.0.0' }))).to.not.throw();
    for (const headers of [{}, { 'Tus-Resumable': '0.2.2' }]) {
      const err = (() => {
        try {
          requireTusResumable(requestWith(headers));
        } catch (e) {
          return e as HttpError;
        }
        return undefined;
      })();
      expect(err).to.be.instanceOf(HttpError);
      expect(err?.status).to.equal(412);
      expect(err?.headers).to.deep.equal({ 'Tus-Version': '1.0.0' });
    }
  });

  it('takes upload bytes only as application/offset+octet-stream (415)', () => {
    expect(() => requireOffsetOctetStream(requestWith({ 'Content-Type': 'application/offset+octet-stream' }))).to.not.throw();
    expect(() => requireOffsetOctetStream(requestWith({ 'Content-Type': 'Application/Offset+Octet-Stream; x=1' }))).to.not.throw();
    for (const headers of [{}, { 'Content-Type': 'application/octet-stream' }]) {
      expect(() => requireOffsetOctetStream(requestWith(headers)))
        .to.throw(HttpError)
        .with.property('status', 415);
    }
  });

  it('reads Upload-Offset, and a creation’s length: Upload-Length or Upload-Defer-Length: 1, exactly one', () => {
    expect(uploadOffsetOf(requestWith({ 'Upload-Offset': '42' }))).to.equal(42);
    for (const bad of [{}, { 'Upload-Offset': '-1' }, { 'Upload-Offset': '1.5' }, { 'Upload-Offset': 'x' }]) {
      expect(
        refusedAsBadRequest(() => uploadOffsetOf(requestWith(bad))),
        JSON.stringify(bad),
      ).to.equal(true);
    }
    expect(declaredLengthOf(requestWith({ 'Upload-Length': '0' }))).to.equal(0);
    expect(declaredLengthOf(requestWith({ 'Upload-Defer-Length': '1' }))).to.equal(null);
    for (const bad of [
      {},
      { 'Upload-Defer-Length': '0' },
      { 'Upload-Length': '5', 'Upload-Defer-Length': '1' },
      { 'Upload-Length': '-5' },
    ]) {
      expect(
        refusedAsBadRequest(() => declaredLengthOf(requestWith(bad))),
        JSON.stringify(bad),
      ).to.equal(true);
    }
  });

  it('parses Upload-Metadata: what tus-js-client encodes comes back, empty values and spacing allowed', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(metadataKey, fc.string()), { selector: ([key]) => key, maxLength: 6 }), (entries) => {
        const header = entries.map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`).join(',');
        const parsed = parseUploadMetadata(header);
        expect([...parsed.keys()]).to.deep.equal(entries.map(([key]) => key));
        for (const [key, value] of entries) expect(parsed.get(key)?.toString('utf8')).to.equal(value);
      }),
    );
    const spaced = parseUploadMetadata(' filename  YS5sb2c= , is_confidential ,empty ');
    expect(Object.fromEntries([...spaced].map(([k, v]) => [k, v.toString()]))).to.deep.equal({
      filename: 'a.log',
      is_confidential: '',
      empty: '',
    });
  });

  it('refuses malformed Upload-Metadata with a 400, whatever the bytes', () => {
    for (const bad of ['filename YS5sb2c=,filename Yg==', ',', 'key !!!', 'key YQ', 'a b c', 'filename YS5s b2c=']) {
      expect(
        refusedAsBadRequest(() => parseUploadMetadata(bad)),
        bad,
      ).to.equal(true);
    }
    answersOrRefuses(parseUploadMetadata);
  });

  it('parses Upload-Concat: partial, final;<urls>', () => {
    expect(parseUploadConcat(undefined)).to.equal(undefined);
    expect(parseUploadConcat('partial')).to.deep.equal({ kind: 'partial' });
    expect(parseUploadConcat('final;/files/a http://h/files/b')).to.deep.equal({ kind: 'final', urls: ['/files/a', 'http://h/files/b'] });
    const tooMany = `final;${Array.from({ length: MAX_CONCAT_PARTS + 1 }, (_, i) => `/files/${i}`).join(' ')}`;
    for (const bad of ['final;', 'final; ', 'partial;x', 'whole', tooMany]) {
      expect(
        refusedAsBadRequest(() => parseUploadConcat(bad)),
        bad.slice(0, 20),
      ).to.equal(true);
    }
    answersOrRefuses(parseUploadConcat, (parsed) => {
      if (parsed?.kind === 'final') expect(parsed.urls.length).to.be.greaterThan(0);
    });
  });

  it('parses Upload-Checksum for crc32, sha1, md5 and sha256; an unknown algorithm or a wrong digest is a 400', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(CHECKSUM_ALGORITHMS)), fc.uint8Array({ maxLength: 64 }), (algorithm, body) => {
        const digest =
          algorithm === 'crc32' ? Buffer.from(new Crc32().update(body).hex(), 'hex') : createHash(algorithm).update(body).digest();
        const parsed = parseUploadChecksum(`${algorithm} ${digest.toString('base64')}`);
        expect(parsed?.algorithm).to.equal(algorithm);
        expect(parsed?.digest.equals(digest)).to.equal(true);
      }),
    );
    expect(parseUploadChecksum(undefined)).to.equal(undefined);
    expect(parseUploadChecksum(`SHA1 ${Buffer.alloc(20).toString('base64')}`)?.algorithm).to.equal('sha1');
    for (const bad of [
      'crc64nvme AAAAAAAAAAA=',
      `crc32 ${Buffer.alloc(16).toString('base64')}`,
      'sha1',
      `sha1 ${Buffer.alloc(16).toString('base64')}`,
      'sha1 !!!!',
      `md5 ${Buffer.alloc(16).toString('base64')} x`,
    ]) {
      expect(
        refusedAsBadRequest(() => parseUploadChecksum(bad)),
        bad,
      ).to.equal(true);
    }
    answersOrRefuses(parseUploadChecksum, (parsed) => {
      if (parsed) expect(parsed.digest.length).to.equal(CHECKSUM_ALGORITHMS[parsed.algorithm]);
    });
  });
});
