import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import { ifRangeAllows, isNotModified, lastModifiedHeader, validatorsFor } from './conditional.js';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('conditional requests (RFC 9110 §13)', () => {
  const completedAt = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
  const id = '0190a2b4-0000-7000-8000-000000000000';
  const found = validatorsFor(id, '0123456789abcdef0123456789abcdef', completedAt);
  if (!found) throw new Error('a completed resource has validators');
  const validators = found;

  it('has validators only for a completed resource (checksum, or id without one, and completion time)', () => {
    expect(validators).to.deep.equal({ etag: '"0123456789abcdef0123456789abcdef"', lastModifiedSeconds: Math.floor(completedAt / 1000) });
    expect(validatorsFor(id, null, completedAt)?.etag).to.equal(`"id-${id}"`);
    expect(validatorsFor(id, 'abc', null)).to.equal(undefined);
    expect(lastModifiedHeader(validators)).to.equal('Thu, 02 Jan 2025 03:04:05 GMT');
  });

  it('answers 304 for a matching If-None-Match (weak comparison, lists, *) before looking at If-Modified-Since', () => {
    expect(isNotModified(request({ 'if-none-match': '"0123456789abcdef0123456789abcdef"' }), validators)).to.equal(true);
    expect(isNotModified(request({ 'if-none-match': '"x", W/"0123456789abcdef0123456789abcdef"' }), validators)).to.equal(true);
    expect(isNotModified(request({ 'if-none-match': '*' }), validators)).to.equal(true);
    expect(isNotModified(request({ 'if-none-match': '"x"', 'if-modified-since': 'Thu, 02 Jan 2099 00:00:00 GMT' }), validators)).to.equal(
      false,
    );
    expect(isNotModified(request({ 'if-modified-since': 'Thu, 02 Jan 2025 03:04:05 GMT' }), validators)).to.equal(true);
    expect(isNotModified(request({ 'if-modified-since': 'Thu, 02 Jan 2025 03:04:04 GMT' }), validators)).to.equal(false);
    expect(isNotModified(request({ 'if-modified-since': 'garbage' }), validators)).to.equal(false);
    expect(isNotModified(request({ 'if-none-match': '*' }), undefined)).to.equal(false);
  });

  it('honours a Range under If-Range only for a strong ETag match or the exact date', () => {
    expect(ifRangeAllows(request({}), validators)).to.equal(true);
    expect(ifRangeAllows(request({}), undefined)).to.equal(true);
    expect(ifRangeAllows(request({ 'if-range': '"0123456789abcdef0123456789abcdef"' }), validators)).to.equal(true);
    expect(ifRangeAllows(request({ 'if-range': 'W/"0123456789abcdef0123456789abcdef"' }), validators)).to.equal(false);
    expect(ifRangeAllows(request({ 'if-range': '"other"' }), validators)).to.equal(false);
    expect(ifRangeAllows(request({ 'if-range': 'Thu, 02 Jan 2025 03:04:05 GMT' }), validators)).to.equal(true);
    expect(ifRangeAllows(request({ 'if-range': 'Thu, 02 Jan 2025 03:04:06 GMT' }), validators)).to.equal(false);
    expect(ifRangeAllows(request({ 'if-range': '"0123456789abcdef0123456789abcdef"' }), undefined)).to.equal(false);
  });
});
