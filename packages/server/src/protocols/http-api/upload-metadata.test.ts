import { ResourceMetadataSchema } from '@spool/common';
import { expect } from 'chai';
import fc from 'fast-check';
import { metadataOf, type UploadDescription } from './upload-metadata.js';

const undescribed: UploadDescription = {
  filename: 'output',
  mimeType: undefined,
  supportsLineAccess: undefined,
  contextId: null,
  name: null,
};

describe('metadataOf: the type nothing told, decided by the first bytes', () => {
  it('text → text/plain with line access; binary or no body → octet-stream without; a told type or flag wins', () => {
    expect(metadataOf(undescribed, Buffer.from('make: entering directory\n'))).to.include({
      mimeType: 'text/plain',
      supportsLineAccess: true,
    });
    expect(metadataOf(undescribed, Buffer.from([0x1f, 0x8b, 8, 0]))).to.include({
      mimeType: 'application/octet-stream',
      supportsLineAccess: false,
    });
    expect(metadataOf(undescribed)).to.include({ mimeType: 'application/octet-stream', supportsLineAccess: false });
    expect(metadataOf({ ...undescribed, mimeType: 'application/x-ndjson' })).to.include({ supportsLineAccess: true });
    expect(metadataOf({ ...undescribed, supportsLineAccess: false }, Buffer.from('text\n'))).to.include({
      mimeType: 'text/plain',
      supportsLineAccess: false,
    });
  });

  it('always gives valid metadata, and text only for bytes without NUL (fuzz)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const metadata = metadataOf(undescribed, Buffer.from(bytes));
        expect(ResourceMetadataSchema.safeParse(metadata).success).to.equal(true);
        if (bytes.includes(0)) expect(metadata.mimeType).to.equal('application/octet-stream');
        expect(metadata.supportsLineAccess).to.equal(metadata.mimeType === 'text/plain');
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), (text) => {
        // Without the control characters text has at most one in a hundred of.
        const clean = [...text].filter((c) => (c.charCodeAt(0) > 0x1f && c !== '\u007f') || '\t\n\r\u001b'.includes(c)).join('');
        if (clean === '') return;
        expect(metadataOf(undescribed, Buffer.from(clean)).mimeType).to.equal('text/plain');
      }),
    );
  });
});
