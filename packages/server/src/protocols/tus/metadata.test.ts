import { expect } from 'chai';
import { parseUploadMetadata } from './headers.js';
import { DEFAULT_FILENAME, DEFAULT_PARTIAL_FILENAME, spoolMetadata } from './metadata.js';

const pairs = (entries: Record<string, string>) =>
  parseUploadMetadata(
    Object.entries(entries)
      .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
      .join(','),
  );

describe('tus Upload-Metadata → Spool metadata', () => {
  it('takes filename/filetype (or Uppy’s name/type), line access for text', () => {
    expect(spoolMetadata(pairs({ filename: 'build.log', filetype: 'text/plain' }), false)).to.deep.equal({
      filename: 'build.log',
      mimeType: 'text/plain',
      supportsLineAccess: true,
    });
    expect(spoolMetadata(pairs({ name: 'photo.png', type: 'image/png' }), false)).to.deep.equal({
      filename: 'photo.png',
      mimeType: 'image/png',
      supportsLineAccess: false,
    });
  });

  it('guesses the type from the name, drops parameters and paths, and names what has no name', () => {
    expect(spoolMetadata(pairs({ filename: 'C:\\fakepath\\trace.json' }), false)).to.include({
      filename: 'trace.json',
      mimeType: 'application/json',
    });
    expect(spoolMetadata(pairs({ filename: 'ci/build.log', filetype: 'text/plain; charset=utf-8' }), false)).to.include({
      filename: 'build.log',
      mimeType: 'text/plain',
    });
    expect(spoolMetadata(pairs({ filename: 'blob', filetype: 'not a type' }), false)).to.include({ mimeType: 'application/octet-stream' });
    expect(spoolMetadata(pairs({}), false).filename).to.equal(DEFAULT_FILENAME);
    expect(spoolMetadata(pairs({ filename: '' }), true).filename).to.equal(DEFAULT_PARTIAL_FILENAME);
  });
});
