import { expect } from 'chai';
import fc from 'fast-check';
import { encodePacket, encodePacketHead, HspPacketError } from './packet.js';
import { HspPacketParser } from './parser.js';

const LIMITS = { maxHeaderBytes: 1024, maxPayloadBytes: 4096 };

function preamble(hex: string): Buffer {
  return Buffer.from(hex.replace(/ /g, ''), 'hex');
}

/** The error `bytes` cause when pushed one by one, and how many were pushed when it came. */
function failure(bytes: Buffer, limits = LIMITS): { error: HspPacketError; after: number } | undefined {
  const parser = new HspPacketParser(limits);
  for (let i = 0; i < bytes.length; i++) {
    parser.push(bytes.subarray(i, i + 1));
    try {
      while (parser.next());
    } catch (error) {
      expect(error).to.be.instanceOf(HspPacketError);
      return { error: error as HspPacketError, after: i + 1 };
    }
  }
  return undefined;
}

describe('HSP streaming packet parser', () => {
  it('refuses a bad magic at its first wrong byte', () => {
    expect(failure(Buffer.from('GET / HTTP/1.1\r\n'))).to.deep.include({ after: 1 });
    expect(failure(preamble('dead beee 01 00 0001 00000000'))?.after).to.equal(4);
    expect(failure(Buffer.from('GET /'))?.error.message).to.match(/bad magic/);
  });

  it('refuses an unknown version at the version byte, and flags other than 0', () => {
    expect(failure(preamble('deadbeef 02 00 0001 00000000 0a'))).to.deep.include({ after: 5 });
    expect(failure(preamble('deadbeef 02'))?.error.message).to.match(/Unknown HSP version 2/);
    expect(failure(preamble('deadbeef 01 01 0001 00000000 0a'))?.error.message).to.match(/Flags must be 0/);
  });

  it('checks declared lengths against the limits as soon as the preamble is in, before keeping any of it', () => {
    const huge = failure(preamble('deadbeef 01 00 0001 ffffffff'));
    expect(huge?.after).to.equal(12);
    expect(huge?.error.message).to.match(/payload of 4294967295 bytes is over this server's limit of 4096/);
    expect(failure(preamble('deadbeef 01 00 ffff 00000000'))?.error.message).to.match(/header block of 65535 bytes is over/);
    expect(failure(preamble('deadbeef 01 00 0000 00000000'))?.error.message).to.match(/header block is empty/);
  });

  it('checks the header block before its payload arrives', () => {
    const head = encodePacketHead({}, 100);
    const bad = Buffer.concat([head.subarray(0, 12), Buffer.from('nocolon\n\n')]);
    bad.writeUInt16BE(9, 6);
    const result = failure(Buffer.concat([bad, Buffer.alloc(100)]));
    expect(result?.after).to.equal(21);
    expect(result?.error.message).to.match(/no ':'/);
  });

  it('reads several packets from one chunk, and hands out raw bytes after a packet', () => {
    const parser = new HspPacketParser(LIMITS);
    parser.push(Buffer.concat([encodePacket({ route: '/a' }), encodePacket({ route: '/b' }, 'x'), Buffer.from('raw bytes')]));
    expect(parser.next()?.headers.get('route')).to.equal('/a');
    expect(parser.next()?.payload.toString()).to.equal('x');
    expect(Buffer.concat(parser.takeBytes(3)).toString()).to.equal('raw');
    expect(parser.buffered).to.equal(6);
    expect(Buffer.concat(parser.takeBytes(100)).toString()).to.equal(' bytes');
    expect(parser.inPacket).to.equal(false);
  });

  it('says how far an incomplete packet got', () => {
    const parser = new HspPacketParser(LIMITS);
    const whole = encodePacket({ route: '/a' }, 'payload');
    parser.push(whole.subarray(0, 5));
    expect(parser.next()).to.equal(undefined);
    expect(parser.describeProgress()).to.equal('5 bytes of a packet preamble');
    parser.push(whole.subarray(5, whole.length - 2));
    expect(parser.next()).to.equal(undefined);
    expect(parser.inPacket).to.equal(true);
    expect(parser.describeProgress()).to.equal(`${whole.length - 2} of ${whole.length} bytes of a packet`);
  });

  it('fuzz: random bytes yield packets or an HspPacketError, never another error, never more than was pushed', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }), (chunks) => {
        const parser = new HspPacketParser(LIMITS);
        let pushed = 0;
        try {
          for (const chunk of chunks) {
            parser.push(Buffer.from(chunk));
            pushed += chunk.length;
            for (let p = parser.next(); p; p = parser.next()) expect(p.payload.length).to.be.at.most(LIMITS.maxPayloadBytes);
            expect(parser.buffered).to.be.at.most(pushed);
          }
        } catch (error) {
          if (!(error instanceof HspPacketError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: a valid packet with bytes changed, cut or inserted parses or fails with an HspPacketError', () => {
    const packet = encodePacket({ route: '/upload', 'data-format': 'bytes', 'x-stream': '20000:4096' }, 'some payload');
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(packet.length - 1), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(packet.length - 1), byte: fc.constant(0) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(packet.length - 1), byte: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let bytes = Buffer.from(packet);
        for (const m of mutations) {
          const at = Math.min(m.at, bytes.length - 1);
          if (m.kind === 'set') bytes[at] = m.byte;
          else if (m.kind === 'cut') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
          else bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte]), bytes.subarray(at)]);
        }
        const parser = new HspPacketParser(LIMITS);
        parser.push(bytes);
        try {
          while (parser.next());
        } catch (error) {
          if (!(error instanceof HspPacketError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
