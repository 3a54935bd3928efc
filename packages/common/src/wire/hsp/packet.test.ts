import { expect } from 'chai';
import fc from 'fast-check';
import { encodeHeaderBlock, encodePacket, encodePacketHead, HSP_V1, HspPacketError, parseHeaderBlock } from './packet.js';
import { HspPacketParser } from './parser.js';
import { formatStream, parseByteCount, parseStreamAnswer, parseStreamRequest } from './stream-header.js';

/** The two examples of the spec sheet (shared/specs/hsp.md), byte for byte. */
const SHEET_REQUEST = Buffer.concat([
  Buffer.from('deadbeef01000029' + '00000002', 'hex'),
  Buffer.from('route:/ping-pong\ndata-format:text:utf-8\n\nhi', 'utf8'),
]);
const SHEET_REPLY = Buffer.concat([
  Buffer.from('deadbeef01000021' + '00000007', 'hex'),
  Buffer.from('data-format:text:utf-8\nstatus:0\n\npong:hi', 'utf8'),
]);

const LIMITS = { maxHeaderBytes: HSP_V1.maxHeaderBytes, maxPayloadBytes: 16 * 1024 * 1024 };

function parseAll(bytes: Buffer) {
  const parser = new HspPacketParser(LIMITS);
  parser.push(bytes);
  return parser.next();
}

describe('HSP packet codec (version 1)', () => {
  it('produces the sheet’s example request and reply byte for byte', () => {
    expect(encodePacket({ route: '/ping-pong', 'data-format': 'text:utf-8' }, 'hi').equals(SHEET_REQUEST)).to.equal(true);
    const reply = new Map([
      ['data-format', 'text:utf-8'],
      ['status', '0'],
    ]);
    expect(encodePacket(reply, Buffer.from('pong:hi')).equals(SHEET_REPLY)).to.equal(true);
  });

  it('parses the sheet’s examples', () => {
    const request = parseAll(SHEET_REQUEST);
    expect(request?.version).to.equal(1);
    expect(request?.flags).to.equal(0);
    expect([...(request?.headers ?? [])]).to.deep.equal([
      ['route', '/ping-pong'],
      ['data-format', 'text:utf-8'],
    ]);
    expect(request?.payload.toString()).to.equal('hi');
    const reply = parseAll(SHEET_REPLY);
    expect(Object.fromEntries(reply?.headers ?? [])).to.deep.equal({ 'data-format': 'text:utf-8', status: '0' });
    expect(reply?.payload.toString()).to.equal('pong:hi');
  });

  it('keeps ":" in values (the key runs to the first ":") and trims blanks around values', () => {
    expect(Object.fromEntries(parseHeaderBlock(Buffer.from('x-stream: 20000:4096 \nstatus:\t0\nempty:\n\n')))).to.deep.equal({
      'x-stream': '20000:4096',
      status: '0',
      empty: '',
    });
    expect(parseHeaderBlock(Buffer.from('\n')).size).to.equal(0);
  });

  it('refuses malformed header blocks with a reason', () => {
    const cases: [string, RegExp][] = [
      ['route:/a\n', /does not end with an empty line/],
      ['route:/a', /does not end with an empty line/],
      ['', /does not end with an empty line/],
      ['route/a\n\n', /line 1 has no ':'/],
      ['route:/a\r\n\r\n', /CRLF line ends/],
      ['route:/a\n\nstatus:0\n\n', /line 2 is empty/],
      [':x\n\n', /line 1 has an invalid name ""/],
      ['ro ute:x\n\n', /invalid name/],
      ['a:1\na:2\n\n', /header a given twice/],
      ['a:x\u0000y\n\n', /control character/],
    ];
    for (const [block, reason] of cases) {
      expect(() => parseHeaderBlock(Buffer.from(block)), JSON.stringify(block))
        .to.throw(HspPacketError)
        .with.property('message')
        .that.matches(reason);
    }
    expect(() => parseHeaderBlock(Buffer.from([0x61, 0x3a, 0xff, 0x0a, 0x0a]))).to.throw(HspPacketError, /not valid UTF-8/);
  });

  it('refuses to encode what would not parse back the same', () => {
    expect(() => encodeHeaderBlock({ 'a:b': 'x' })).to.throw(HspPacketError);
    expect(() => encodeHeaderBlock({ a: 'x\ny' })).to.throw(HspPacketError);
    expect(() => encodeHeaderBlock({ a: ' x' })).to.throw(HspPacketError);
    expect(() => encodeHeaderBlock({ '': 'x' })).to.throw(HspPacketError);
    expect(() =>
      encodeHeaderBlock([
        ['a', '1'],
        ['a', '2'],
      ]),
    ).to.throw(HspPacketError, /twice/);
    expect(() => encodeHeaderBlock({ a: 'x'.repeat(70_000) })).to.throw(HspPacketError, /over 65535/);
    expect(() => encodePacketHead({}, 2 ** 32)).to.throw(HspPacketError);
  });

  it('round-trips any valid headers and payload, whatever the chunking', () => {
    const key = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
    const value = fc
      .string({ maxLength: 30 })
      .filter((v) => /^(?:[^\p{Cc}]|\t)*$/u.test(v) && v.trim() === v.replace(/^[ \t]+|[ \t]+$/g, '') && !/^[ \t]|[ \t]$/.test(v));
    const headers = fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 8 });
    const packet = fc.record({ headers, payload: fc.uint8Array({ maxLength: 300 }) });
    fc.assert(
      fc.property(
        fc.array(packet, { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }),
        (packets, cuts) => {
          const wire = Buffer.concat(packets.map((p) => encodePacket(p.headers, p.payload)));
          const parser = new HspPacketParser(LIMITS);
          const parsed = [];
          for (let offset = 0, i = 0; offset < wire.length; i++) {
            const step = cuts[i % cuts.length] as number;
            parser.push(wire.subarray(offset, offset + step));
            offset += step;
            for (let p = parser.next(); p; p = parser.next()) parsed.push(p);
          }
          expect(parser.buffered).to.equal(0);
          expect(parser.inPacket).to.equal(false);
          expect(parsed.map((p) => ({ headers: [...p.headers], payload: [...p.payload] }))).to.deep.equal(
            packets.map((p) => ({ headers: p.headers, payload: [...p.payload] })),
          );
        },
      ),
    );
  });
});

describe('HSP x-stream values', () => {
  it('parses requests and answers, and refuses what is not a whole number', () => {
    expect(parseStreamRequest('20000:4096')).to.deep.equal({ total: 20000, bufsize: 4096 });
    expect(parseStreamRequest('0:1')).to.deep.equal({ total: 0, bufsize: 1 });
    expect(parseStreamAnswer('-1:0')).to.deep.equal({ accept: -1, bufsize: 0 });
    expect(parseStreamAnswer('377:0')).to.deep.equal({ accept: 377, bufsize: 0 });
    expect(formatStream(0, 4096)).to.equal('0:4096');
    for (const bad of ['', '1', '1:2:3', '-5:10', '10:0', '1.5:2', '01:2', 'x:1', '99999999999999999:1', ' 1:2']) {
      expect(() => parseStreamRequest(bad), bad).to.throw(HspPacketError);
    }
    expect(() => parseStreamAnswer('-2:0')).to.throw(HspPacketError);
    expect(parseByteCount('0', 'x-offset')).to.equal(0);
    expect(() => parseByteCount('-1', 'x-offset')).to.throw(HspPacketError, /x-offset "-1"/);
  });
});
