import { expect } from 'chai';
import { guessMimeType, isTextLike, looksLikeText } from './media-types.js';

describe('media types: what a resource is when its uploader did not say', () => {
  it('guesses from the extension, case-insensitively; no extension or an unknown one says nothing', () => {
    expect(guessMimeType('build.log')).to.equal('text/plain');
    expect(guessMimeType('trace.NDJSON')).to.equal('application/x-ndjson');
    expect(guessMimeType('events.jsonl')).to.equal('application/jsonl');
    expect(guessMimeType('Makefile')).to.equal(undefined);
    expect(guessMimeType('.bashrc')).to.equal(undefined);
    expect(guessMimeType('x.')).to.equal(undefined);
    expect(guessMimeType('x.unknownext')).to.equal(undefined);
  });

  it('counts structured text types as text (line access by default), binary ones not', () => {
    for (const type of [
      'text/plain',
      'application/json',
      'application/x-ndjson',
      'application/jsonl',
      'text/csv',
      'application/vnd.api+json',
      'image/svg+xml',
      'application/yaml',
    ]) {
      expect(isTextLike(type), type).to.equal(true);
    }
    for (const type of ['application/octet-stream', 'image/png', 'application/gzip', 'video/mp4'])
      expect(isTextLike(type), type).to.equal(false);
  });

  it('sniffs text: UTF-8 with line breaks, tabs and ANSI colours; a character cut by the sample end is fine', () => {
    expect(looksLikeText(Buffer.from('\u001b[32mPASS\u001b[0m test 1\r\n\tat x\n'))).to.equal(true);
    expect(looksLikeText(Buffer.from('héllo wörld ✓\n'))).to.equal(true);
    const cut = Buffer.from('done ✓');
    expect(looksLikeText(cut.subarray(0, cut.length - 1))).to.equal(true);
  });

  it('sniffs binary: empty, NUL bytes, invalid UTF-8, UTF-16, many control bytes', () => {
    expect(looksLikeText(Buffer.alloc(0))).to.equal(false);
    expect(looksLikeText(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).to.equal(false); // PNG
    expect(looksLikeText(Buffer.from([0x1f, 0x8b, 0x08, 0x00]))).to.equal(false); // gzip
    expect(looksLikeText(Buffer.from('\ufeffhi', 'utf16le'))).to.equal(false);
    expect(looksLikeText(Buffer.from('abc\u0001\u0002\u0003'))).to.equal(false);
    expect(looksLikeText(Buffer.from([0x61, 0xff, 0x62]))).to.equal(false);
  });
});
