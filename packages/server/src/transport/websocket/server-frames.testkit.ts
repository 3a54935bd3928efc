/** Test helpers: server→client frames as a raw client sees them on the wire. */

export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Parses the whole unmasked server frames at the start of `bytes` (an incomplete last frame is left out). */
export function parseFrames(bytes: Buffer): ServerFrame[] {
  const frames: ServerFrame[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    const first = bytes[at] as number;
    let length = (bytes[at + 1] as number) & 0x7f;
    let headerLength = 2;
    if (length === 126) {
      if (at + 4 > bytes.length) break;
      length = bytes.readUInt16BE(at + 2);
      headerLength = 4;
    } else if (length === 127) {
      if (at + 10 > bytes.length) break;
      length = Number(bytes.readBigUInt64BE(at + 2));
      headerLength = 10;
    }
    if (at + headerLength + length > bytes.length) break;
    frames.push({
      fin: (first & 0x80) !== 0,
      opcode: first & 0x0f,
      payload: bytes.subarray(at + headerLength, at + headerLength + length),
    });
    at += headerLength + length;
  }
  return frames;
}
