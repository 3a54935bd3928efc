import { isUtf8 } from 'node:buffer';
import { CloseCode } from '@spool/common';

/** Reported when a close frame carries no status code (RFC 6455 §7.4.1); never sent. */
export const NO_STATUS_RECEIVED = 1005;

/** Codes an endpoint may put in a close frame: 1000-1003, 1007-1014, 3000-4999. */
export function isValidCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
}

export type DecodedClose =
  | { readonly valid: true; readonly code: number; readonly reason: string }
  /** `closeCode` is what we must close with in answer to the malformed frame. */
  | { readonly valid: false; readonly closeCode: number; readonly message: string };

/** Validates and decodes a received close frame payload. */
export function decodeClosePayload(payload: Buffer): DecodedClose {
  if (payload.length === 0) return { valid: true, code: NO_STATUS_RECEIVED, reason: '' };
  if (payload.length === 1) {
    return { valid: false, closeCode: CloseCode.PROTOCOL_ERROR, message: 'Close frame payload of 1 byte' };
  }
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) {
    return { valid: false, closeCode: CloseCode.PROTOCOL_ERROR, message: `Invalid close code ${code}` };
  }
  const reasonBytes = payload.subarray(2);
  if (!isUtf8(reasonBytes)) {
    return { valid: false, closeCode: CloseCode.INVALID_PAYLOAD, message: 'Close reason is not valid UTF-8' };
  }
  return { valid: true, code, reason: reasonBytes.toString('utf8') };
}

/**
 * Close frame payload: 2-byte code + UTF-8 reason. The caller keeps the reason within
 * 123 bytes (`truncateCloseReason`); `undefined` code means an empty payload.
 */
export function encodeClosePayload(code: number | undefined, reason: string): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const reasonLength = Buffer.byteLength(reason, 'utf8');
  const payload = Buffer.allocUnsafe(2 + reasonLength);
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return payload;
}
