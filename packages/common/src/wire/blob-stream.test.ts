import { expect } from 'chai';
import { ErrorCode, type SpoolError } from '../errors.js';
import {
  BlobStreamDecoder,
  type BlobStreamEvent,
  blobRecordHeader,
  blobTag,
  blobTagLength,
  blobUploadPreamble,
  MAX_STREAM_BLOB_BYTES,
  parseBlobUploadPreamble,
} from './blob-stream.js';

function thrown(run: () => unknown): SpoolError {
  try {
    run();
  } catch (err) {
    return err as SpoolError;
  }
  throw new Error('did not throw');
}

/** Decodes `body` pushed in pieces of `step` bytes into [size, tag, bytes] records. */
function decode(body: Buffer, step: number): [number, string, string][] {
  const decoder = new BlobStreamDecoder();
  const records: [number, string, string][] = [];
  const events: BlobStreamEvent[] = [];
  for (let at = 0; at < body.length; at += step) events.push(...decoder.push(body.subarray(at, at + step)));
  decoder.end();
  let bytes: Buffer[] = [];
  for (const event of events) {
    if (event.type === 'start') {
      records.push([event.size, event.tag, '']);
      bytes = [];
    } else if (event.type === 'data') {
      bytes.push(Buffer.from(event.bytes));
    } else {
      (records[records.length - 1] as [number, string, string])[2] = Buffer.concat(bytes).toString('latin1');
    }
  }
  return records;
}

describe('Blob stream format (Soledad)', () => {
  it('writes a record header as 8 lowercase hex digits, the padded base64url of the last 16 bytes and a space', () => {
    const blob = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));
    const header = blobRecordHeader(blob.length, blob);
    const tail = blob.subarray(284);
    const expectedTag = tail.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    expect(header.toString('latin1')).to.equal(`0000012c${expectedTag} `);
    expect(expectedTag).to.have.length(24);
    expect(expectedTag.endsWith('==')).to.equal(true);
    // Bytes 0xfb 0xff … give - and _ in base64url.
    expect(blobTag(Buffer.from([0xfb, 0xff, 0xbf]))).to.equal('-_-_');
  });

  it('tags a blob shorter than 16 bytes with its whole content (padded), an empty blob with nothing', () => {
    expect(blobRecordHeader(0, Buffer.alloc(0)).toString('latin1')).to.equal('00000000 ');
    expect(blobRecordHeader(1, Buffer.from('a')).toString('latin1')).to.equal('00000001YQ== ');
    expect(blobRecordHeader(5, Buffer.from('12345')).toString('latin1')).to.equal('00000005MTIzNDU= ');
    expect([0, 1, 2, 3, 4, 15, 16, 17, 1000].map(blobTagLength)).to.deep.equal([0, 4, 4, 4, 8, 20, 24, 24, 24]);
  });

  it('refuses a size the 8 hex digits cannot state', () => {
    expect(blobRecordHeader(MAX_STREAM_BLOB_BYTES, Buffer.alloc(16)).toString('latin1').slice(0, 8)).to.equal('ffffffff');
    expect(() => blobRecordHeader(MAX_STREAM_BLOB_BYTES + 1, Buffer.alloc(16))).to.throw(RangeError, /cannot be streamed/);
  });

  it('writes and parses the first line of an upload', () => {
    expect(
      blobUploadPreamble([
        ['a', 3],
        ['b-2_', 0],
      ]).toString(),
    ).to.equal('[["a",3],["b-2_",0]]\n');
    expect(parseBlobUploadPreamble('[["a",3],["b",0]]')).to.deep.equal([
      ['a', 3],
      ['b', 0],
    ]);
    expect(parseBlobUploadPreamble(' [] ')).to.deep.equal([]);
  });

  it('refuses a malformed first line with INVALID_MESSAGE saying what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['', /not JSON/],
      ['{"a":1}', /JSON array of \[blob_id, size\]/],
      ['[["a",-1]]', /0\.1/],
      ['[["a",1.5]]', /0\.1/],
      ['[["a",4294967296]]', /8 hex digits/],
      ['[["a b",1]]', /letters, digits/],
      ['[["a",1,2]]', /0/],
      ['[["a",1],["a",2]]', /listed twice/],
      [`[["${'x'.repeat(129)}",1]]`, /at most 128/],
    ];
    for (const [line, message] of cases) {
      const err = thrown(() => parseBlobUploadPreamble(line));
      expect(err.code, line).to.equal(ErrorCode.INVALID_MESSAGE);
      expect(err.message, line).to.match(message);
    }
  });

  it('decodes records whatever the chunking, including empty and short blobs', () => {
    const blobs = ['', 'x', 'hello world', 'exactly 16 bytes', 'a longer blob with spaces and = signs in it '.repeat(3)];
    const body = Buffer.concat(blobs.flatMap((blob) => [blobRecordHeader(blob.length, Buffer.from(blob)), Buffer.from(blob, 'latin1')]));
    for (const step of [1, 2, 3, 7, 33, body.length]) {
      expect(decode(body, step), `step ${step}`).to.deep.equal(blobs.map((blob) => [blob.length, blobTag(Buffer.from(blob)), blob]));
    }
  });

  it('refuses malformed records and a body cut inside a record with PROTOCOL_VIOLATION', () => {
    const good = Buffer.concat([blobRecordHeader(3, Buffer.from('abc')), Buffer.from('abc')]);
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('0000000G '), /8 lowercase hex/],
      [Buffer.from('00000003YWJ abc'), /must be 4 base64url/],
      [Buffer.from(`00000003${'A'.repeat(40)}`), /no space/],
      [good.subarray(0, good.length - 1), /1 bytes before the end of a blob/],
      [good.subarray(0, 5), /inside a record header/],
    ];
    for (const [body, message] of cases) {
      const err = thrown(() => decode(body, 4));
      expect(err.code, body.toString()).to.equal(ErrorCode.PROTOCOL_VIOLATION);
      expect(err.message).to.match(message);
    }
  });
});
