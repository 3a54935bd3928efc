import { HspPacketError } from './packet.js';

/** `x-stream` of a stream request: the bytes the client will send in total, and its chunk size. */
export interface HspStreamRequest {
  total: number;
  bufsize: number;
}

/**
 * `x-stream` of the server's answer: `accept` 0 = the whole amount, n > 0 = only n more
 * bytes, -1 = refused; and the chunk size the server wants.
 */
export interface HspStreamAnswer {
  accept: number;
  bufsize: number;
}

const DIGITS = /^(0|[1-9][0-9]{0,15})$/;

const integer = (text: string | undefined, what: string, value: string) =>
  parseByteCount(text ?? '', `x-stream ${JSON.stringify(value)}: ${what}`);

/** Parses `<total>:<bufsize>` (both whole numbers, bufsize ≥ 1). */
export function parseStreamRequest(value: string): HspStreamRequest {
  const [total, bufsize, ...rest] = value.split(':');
  if (rest.length > 0) throw new HspPacketError(`x-stream ${JSON.stringify(value)} is not <total>:<bufsize>`);
  const parsed = { total: integer(total, 'total', value), bufsize: integer(bufsize, 'bufsize', value) };
  if (parsed.bufsize < 1) throw new HspPacketError(`x-stream ${JSON.stringify(value)}: bufsize must be at least 1`);
  return parsed;
}

/** Parses the server's `<accept>:<bufsize>` (accept may be -1). */
export function parseStreamAnswer(value: string): HspStreamAnswer {
  const [accept, bufsize, ...rest] = value.split(':');
  if (rest.length > 0) throw new HspPacketError(`x-stream ${JSON.stringify(value)} is not <accept>:<bufsize>`);
  return {
    accept: accept === '-1' ? -1 : integer(accept, 'accept', value),
    bufsize: integer(bufsize, 'bufsize', value),
  };
}

export const formatStream = (first: number, second: number): string => `${first}:${second}`;

/** A byte count or offset (`x-stream-offset`, `x-offset`): a whole number, no sign, no leading zero. */
export function parseByteCount(value: string, name: string): number {
  const n = DIGITS.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new HspPacketError(`${name} ${JSON.stringify(value)} is not a whole number of bytes`);
  return n;
}
