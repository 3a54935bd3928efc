import { type ControlOpcode, MAX_CONTROL_PAYLOAD_BYTES, type Opcode } from './opcodes.js';

/** Largest payload length a frame header can carry exactly in a JS number (2^53 - 1). */
const MAX_FRAME_PAYLOAD_BYTES = Number.MAX_SAFE_INTEGER;

/**
 * Header of a server→client frame (never masked), with the shortest length encoding:
 * 7 bits up to 125, 16 bits up to 65535, else 64 bits. The payload is written
 * separately so large payloads are never copied.
 */
export function encodeFrameHeader(opcode: Opcode, fin: boolean, payloadLength: number): Buffer {
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > MAX_FRAME_PAYLOAD_BYTES) {
    throw new RangeError(`Invalid frame payload length ${payloadLength}`);
  }
  const firstByte = (fin ? 0x80 : 0) | opcode;
  let header: Buffer;
  if (payloadLength < 126) {
    header = Buffer.allocUnsafe(2);
    header[1] = payloadLength;
  } else if (payloadLength <= 0xffff) {
    header = Buffer.allocUnsafe(4);
    header[1] = 126;
    header.writeUInt16BE(payloadLength, 2);
  } else {
    header = Buffer.allocUnsafe(10);
    header[1] = 127;
    header.writeUInt32BE(Math.floor(payloadLength / 0x1_0000_0000), 2);
    header.writeUInt32BE(payloadLength >>> 0, 6);
  }
  header[0] = firstByte;
  return header;
}

/** A whole control frame (header + payload in one buffer; payload ≤ 125 bytes). */
export function encodeControlFrame(opcode: ControlOpcode, payload: Buffer): Buffer {
  if (payload.length > MAX_CONTROL_PAYLOAD_BYTES) {
    throw new RangeError(`Control frame payload of ${payload.length} bytes exceeds ${MAX_CONTROL_PAYLOAD_BYTES}`);
  }
  const frame = Buffer.allocUnsafe(2 + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = payload.length;
  payload.copy(frame, 2);
  return frame;
}
