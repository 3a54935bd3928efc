import { ErrorCode, SpoolError } from '@spool/common';
import { expect } from 'chai';
import { createUtf8Transcoder, isUtf8Charset, transcodeToUtf8 } from './transcode.js';

async function* chunksOf(...parts: Buffer[]): AsyncGenerator<Buffer> {
  yield* parts;
}

async function transcodeAll(charset: string, ...parts: Buffer[]): Promise<string> {
  const out: Buffer[] = [];
  for await (const chunk of transcodeToUtf8(chunksOf(...parts), charset)) out.push(chunk);
  return Buffer.concat(out).toString('utf8');
}

describe('transcodeToUtf8', () => {
  it('decodes ISO-8859-1 exactly, 0x80–0x9F included (not as windows-1252)', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const expected = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    for (const label of ['ISO-8859-1', 'iso-8859-1', 'latin1', 'ISO8859_1']) {
      expect(await transcodeAll(label, all.subarray(0, 100), all.subarray(100))).to.equal(expected);
    }
    expect(await transcodeAll('ISO-8859-1', Buffer.from([0x80]))).to.equal('\u0080');
    expect(await transcodeAll('ISO-8859-1', Buffer.from('caf\xe9 na\xefve\n', 'latin1'))).to.equal('café naïve\n');
  });

  it('decodes windows-1252 as windows-1252', async () => {
    expect(await transcodeAll('windows-1252', Buffer.from([0x80]))).to.equal('€');
  });

  it('keeps multi-byte sequences split across chunks intact', async () => {
    const text = 'Grüße, 世界! 😀\n';
    const utf16 = Buffer.from(text, 'utf16le');
    // Split inside a code unit and inside the surrogate pair.
    expect(await transcodeAll('UTF-16LE', utf16.subarray(0, 3), utf16.subarray(3, 27), utf16.subarray(27))).to.equal(text);
    const sjis = Buffer.from([0x93, 0xfa, 0x96, 0x7b]); // 日本 in Shift_JIS
    expect(await transcodeAll('shift_jis', sjis.subarray(0, 1), sjis.subarray(1, 3), sjis.subarray(3))).to.equal('日本');
    const utf8 = Buffer.from(text, 'utf8');
    expect(await transcodeAll('UTF_16LE', Buffer.from(text, 'utf16le'))).to.equal(text);
    expect(await transcodeAll('utf-8', utf8.subarray(0, 9), utf8.subarray(9))).to.equal(text);
  });

  it('flushes an incomplete trailing sequence as U+FFFD', async () => {
    expect(await transcodeAll('UTF-16LE', Buffer.from([0x41, 0x00, 0x42]))).to.equal('A\ufffd');
  });

  it('maps bytes ≥ 0x80 to U+FFFD for US-ASCII, like Java', async () => {
    expect(await transcodeAll('US-ASCII', Buffer.from([0x41, 0x80, 0xff, 0x0a]))).to.equal('A\ufffd\ufffd\n');
  });

  it('passes UTF-8 through untouched', () => {
    const transcoder = createUtf8Transcoder('UTF-8');
    const bytes = Buffer.from([0xff, 0xfe, 0x41]);
    expect(transcoder.write(bytes)).to.equal(bytes);
    expect(isUtf8Charset(' utf8 ')).to.equal(true);
    expect(isUtf8Charset('latin1')).to.equal(false);
  });

  it('rejects an unknown charset at once with INVALID_METADATA', () => {
    expect(() => transcodeToUtf8(chunksOf(), 'klingon-8'))
      .to.throw(SpoolError)
      .with.property('code', ErrorCode.INVALID_METADATA);
  });
});
