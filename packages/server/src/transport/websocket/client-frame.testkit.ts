/** Test helpers: client→server frames built by hand (the parser's input). */

export interface ClientFrameSpec {
  opcode: number;
  payload?: Buffer;
  /** Default true. */
  fin?: boolean;
  /** 4-byte masking key; `null` sends the frame unmasked. Default: a fixed non-zero key. */
  mask?: Buffer | null;
  /** RSV1-3 bits, as the value of bits 4-6 of the first byte (0x40 = RSV1). */
  rsvBits?: number;
  /** Force a length encoding (non-minimal encodings are legal). Default: minimal. */
  lengthEncoding?: 7 | 16 | 64;
  /** Override the announced payload length (for invalid headers). */
  announcedLength?: number;
}

export const DEFAULT_TEST_MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

export function buildClientFrame(spec: ClientFrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  const mask = spec.mask === undefined ? DEFAULT_TEST_MASK : spec.mask;
  const length = spec.announcedLength ?? payload.length;
  const encoding = spec.lengthEncoding ?? (length < 126 ? 7 : length <= 0xffff ? 16 : 64);
  const lengthBytes = encoding === 7 ? 0 : encoding === 16 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (mask ? 4 : 0));
  header[0] = ((spec.fin ?? true) ? 0x80 : 0) | (spec.rsvBits ?? 0) | spec.opcode;
  const maskBit = mask ? 0x80 : 0;
  if (encoding === 7) {
    header[1] = maskBit | length;
  } else if (encoding === 16) {
    header[1] = maskBit | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!mask) return Buffer.concat([header, payload]);
  mask.copy(header, 2 + lengthBytes);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return Buffer.concat([header, masked]);
}

/** Deterministic pseudo-random bytes (xorshift32), so failures are reproducible. */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out[i] = state & 0xff;
  }
  return out;
}
