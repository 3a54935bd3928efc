import { expect } from 'chai';
import { decodeClosePayload, encodeClosePayload, isValidCloseCode } from './close-frame.js';
import { encodeControlFrame, encodeFrameHeader } from './frame-writer.js';
import { Opcode } from './opcodes.js';

describe('websocket frame writer', () => {
  it('uses the 7-bit length up to 125 bytes', () => {
    expect([...encodeFrameHeader(Opcode.TEXT, true, 0)]).to.deep.equal([0x81, 0]);
    expect([...encodeFrameHeader(Opcode.BINARY, false, 125)]).to.deep.equal([0x02, 125]);
  });

  it('uses the 16-bit length from 126 to 65535 bytes', () => {
    expect([...encodeFrameHeader(Opcode.CONTINUATION, false, 126)]).to.deep.equal([0x00, 126, 0, 126]);
    expect([...encodeFrameHeader(Opcode.CONTINUATION, true, 65_535)]).to.deep.equal([0x80, 126, 0xff, 0xff]);
  });

  it('uses the 64-bit length above 65535 bytes, including lengths beyond 32 bits', () => {
    expect([...encodeFrameHeader(Opcode.BINARY, true, 65_536)]).to.deep.equal([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    const header = encodeFrameHeader(Opcode.BINARY, false, 2 ** 32 + 5);
    expect(header.readBigUInt64BE(2)).to.equal(2n ** 32n + 5n);
  });

  it('never sets the mask bit or RSV bits', () => {
    for (const length of [0, 125, 126, 70_000]) {
      const header = encodeFrameHeader(Opcode.BINARY, true, length);
      expect((header[0] as number) & 0x70).to.equal(0);
      expect((header[1] as number) & 0x80).to.equal(0);
    }
  });

  it('rejects invalid lengths', () => {
    expect(() => encodeFrameHeader(Opcode.BINARY, true, -1)).to.throw(RangeError);
    expect(() => encodeFrameHeader(Opcode.BINARY, true, 1.5)).to.throw(RangeError);
  });

  it('encodes whole control frames and refuses payloads over 125 bytes', () => {
    expect([...encodeControlFrame(Opcode.PONG, Buffer.from('ab'))]).to.deep.equal([0x8a, 2, 0x61, 0x62]);
    expect([...encodeControlFrame(Opcode.PING, Buffer.alloc(0))]).to.deep.equal([0x89, 0]);
    expect(() => encodeControlFrame(Opcode.PING, Buffer.alloc(126))).to.throw(RangeError);
  });
});

describe('websocket close frame payload', () => {
  it('round-trips code and reason', () => {
    const payload = encodeClosePayload(4001, 'déjà vu');
    expect(decodeClosePayload(payload)).to.deep.equal({ valid: true, code: 4001, reason: 'déjà vu' });
  });

  it('reports 1005 for an empty payload and encodes none for an undefined code', () => {
    expect(decodeClosePayload(Buffer.alloc(0))).to.deep.equal({ valid: true, code: 1005, reason: '' });
    expect(encodeClosePayload(undefined, 'ignored')).to.have.length(0);
  });

  it('validates codes', () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999]) expect(isValidCloseCode(code), `${code}`).to.equal(true);
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) expect(isValidCloseCode(code), `${code}`).to.equal(false);
  });

  it('rejects malformed payloads with the code to answer', () => {
    expect(decodeClosePayload(Buffer.from([0x03]))).to.include({ valid: false, closeCode: 1002 });
    expect(decodeClosePayload(encodeClosePayload(1006, ''))).to.include({ valid: false, closeCode: 1002 });
    expect(decodeClosePayload(encodeClosePayload(1015, ''))).to.include({ valid: false, closeCode: 1002 });
    expect(decodeClosePayload(Buffer.from([0x03, 0xe8, 0xff]))).to.include({ valid: false, closeCode: 1007 });
  });
});
