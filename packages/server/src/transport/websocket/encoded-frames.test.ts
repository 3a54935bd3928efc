import { expect } from 'chai';
import { EncodedFrames } from './encoded-frames.js';
import { Opcode } from './opcodes.js';

/** Splits server frames (unmasked) back into opcode, FIN and payload. */
function decode(bytes: Buffer): { opcode: number; fin: boolean; payload: Buffer }[] {
  const frames: { opcode: number; fin: boolean; payload: Buffer }[] = [];
  let at = 0;
  while (at < bytes.length) {
    const first = bytes[at] as number;
    let length = (bytes[at + 1] as number) & 0x7f;
    let header = 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at + 2));
      header = 10;
    }
    expect((bytes[at + 1] as number) & 0x80, 'server frames are never masked').to.equal(0);
    frames.push({ opcode: first & 0x0f, fin: (first & 0x80) !== 0, payload: bytes.subarray(at + header, at + header + length) });
    at += header + length;
  }
  expect(at).to.equal(bytes.length);
  return frames;
}

describe('websocket EncodedFrames', () => {
  it('encodes whole messages as FIN frames, a binary message from its pieces as one frame', () => {
    const big = Buffer.alloc(70_000, 7);
    const frames = EncodedFrames.encode([{ text: 'héllo' }, { binary: [Buffer.from('ab'), big] }, { binary: [] }]);
    const decoded = decode(frames.bytes);
    expect(decoded.map((f) => [f.opcode, f.fin])).to.deep.equal([
      [Opcode.TEXT, true],
      [Opcode.BINARY, true],
      [Opcode.BINARY, true],
    ]);
    expect(decoded[0]?.payload.toString('utf8')).to.equal('héllo');
    expect(decoded[1]?.payload.equals(Buffer.concat([Buffer.from('ab'), big]))).to.equal(true);
    expect(decoded[2]?.payload.length).to.equal(0);
  });

  it('concatenates encoded frames in order without touching the originals', () => {
    const a = EncodedFrames.encode([{ text: 'a' }]);
    const b = EncodedFrames.encode([{ binary: [Buffer.from('b')] }]);
    const both = a.concat(b);
    expect(decode(both.bytes).map((f) => f.payload.toString())).to.deep.equal(['a', 'b']);
    expect(decode(a.bytes).map((f) => f.payload.toString())).to.deep.equal(['a']);
  });
});
