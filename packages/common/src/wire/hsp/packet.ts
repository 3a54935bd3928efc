import { ProtocolViolationError } from '../../errors.js';

/**
 * HSP packets (docs/protocols/hsp.md): a fixed preamble — magic `0xDEADBEEF`, version,
 * then the version's own fields — a header block of `key:value\n` lines ended by an empty
 * line, then the payload. Version 1 is the only one spoken today; `HSP_VERSIONS` is where
 * a version 2 (the encrypted framing of the original's later head) plugs in.
 */
export const HSP_MAGIC = 0xdeadbeef;
/** Magic (4) + version (1): what every version shares, and what the parser dispatches on. */
export const HSP_VERSION_OFFSET = 4;

/** Headers in wire order; keys are case-sensitive (the protocol's are lowercase). */
export type HspHeaders = ReadonlyMap<string, string>;

export interface HspPacket {
  readonly version: number;
  readonly flags: number;
  readonly headers: HspHeaders;
  readonly payload: Buffer;
}

/** What a version's preamble declares: validated against the limits before any of it is read. */
export interface HspFrameLengths {
  readonly flags: number;
  readonly headerBytes: number;
  readonly payloadBytes: number;
}

/** One packet version: its preamble layout. */
export interface HspVersionCodec {
  readonly version: number;
  /** Bytes of the whole preamble, magic and version included. */
  readonly preambleBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxPayloadBytes: number;
  /** Reads and checks the preamble (throws HspPacketError). */
  readLengths(preamble: Buffer): HspFrameLengths;
  writePreamble(lengths: HspFrameLengths): Buffer;
}

/** A packet that is not HSP: bad magic, unknown version, a malformed header block, over a limit. */
export class HspPacketError extends ProtocolViolationError {}

/**
 * Version 1: `magic u32 | version u8 = 1 | flags u8 = 0 | header length u16 | payload length u32`,
 * all big-endian; 12 bytes.
 */
export const HSP_V1: HspVersionCodec = {
  version: 1,
  preambleBytes: 12,
  maxHeaderBytes: 0xffff,
  maxPayloadBytes: 0xffff_ffff,
  readLengths(preamble) {
    const flags = preamble.readUInt8(5);
    if (flags !== 0) throw new HspPacketError(`Flags must be 0 in HSP version 1, got ${flags}`);
    return { flags, headerBytes: preamble.readUInt16BE(6), payloadBytes: preamble.readUInt32BE(8) };
  },
  writePreamble({ flags, headerBytes, payloadBytes }) {
    const preamble = Buffer.allocUnsafe(12);
    preamble.writeUInt32BE(HSP_MAGIC, 0);
    preamble.writeUInt8(1, 4);
    preamble.writeUInt8(flags, 5);
    preamble.writeUInt16BE(headerBytes, 6);
    preamble.writeUInt32BE(payloadBytes, 8);
    return preamble;
  },
};

/** The versions this codec speaks, by version byte. */
export const HSP_VERSIONS: ReadonlyMap<number, HspVersionCodec> = new Map([[HSP_V1.version, HSP_V1]]);

export function hspVersion(version: number): HspVersionCodec {
  const codec = HSP_VERSIONS.get(version);
  if (!codec) throw new HspPacketError(`Unknown HSP version ${version} (this server speaks ${[...HSP_VERSIONS.keys()].join(', ')})`);
  return codec;
}

/** Header names the protocol itself uses. */
export const HSP_HEADER = {
  ROUTE: 'route',
  DATA_FORMAT: 'data-format',
  STATUS: 'status',
  AUTH: 'auth',
  STREAM: 'x-stream',
  STREAM_KEY: 'x-stream-key',
  STREAM_OFFSET: 'x-stream-offset',
  RESOURCE: 'x-resource',
} as const;

export const HSP_DATA_FORMATS = ['bytes', 'text:utf-8', 'json:utf-8'] as const;
export type HspDataFormat = (typeof HSP_DATA_FORMATS)[number];

export function isHspDataFormat(value: string | undefined): value is HspDataFormat {
  return (HSP_DATA_FORMATS as readonly string[]).includes(value ?? '');
}

/** Headers as the encoder takes them: a map, entries in order, or a plain object (its key order). */
export type HspHeadersInit = HspHeaders | Iterable<readonly [string, string]> | Readonly<Record<string, string>>;

function entriesOf(headers: HspHeadersInit): Iterable<readonly [string, string]> {
  if (headers instanceof Map || Symbol.iterator in (headers as object)) return headers as Iterable<readonly [string, string]>;
  return Object.entries(headers as Record<string, string>);
}

/** A key the parser reads back as itself: no `:`, whitespace or control character. */
const VALID_KEY = /^[^:\s\p{Cc}]+$/u;
/** No control character but tab. */
const VALID_VALUE = /^(?:[^\p{Cc}]|\t)*$/u;
/** What the parser trims off a value, so the encoder refuses it. */
const EDGE_BLANKS = /^[ \t]+|[ \t]+$/g;

/** `key:value\n` lines and the final `\n`. Throws on what would not parse back the same. */
export function encodeHeaderBlock(headers: HspHeadersInit, maxBytes = HSP_V1.maxHeaderBytes): Buffer {
  let text = '';
  const seen = new Set<string>();
  for (const [key, value] of entriesOf(headers)) {
    if (!VALID_KEY.test(key)) throw new HspPacketError(`Invalid HSP header name ${JSON.stringify(key)}`);
    if (!VALID_VALUE.test(value) || value.replace(EDGE_BLANKS, '') !== value) {
      throw new HspPacketError(`Invalid value of HSP header ${key}: ${JSON.stringify(value)}`);
    }
    if (seen.has(key)) throw new HspPacketError(`HSP header ${key} given twice`);
    seen.add(key);
    text += `${key}:${value}\n`;
  }
  const block = Buffer.from(`${text}\n`, 'utf8');
  if (block.length > maxBytes) throw new HspPacketError(`HSP header block of ${block.length} bytes is over ${maxBytes}`);
  return block;
}

/** Preamble and header block of a packet whose payload (`payloadBytes` long) the caller sends after it. */
export function encodePacketHead(headers: HspHeadersInit, payloadBytes: number, codec: HspVersionCodec = HSP_V1): Buffer {
  if (!Number.isSafeInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > codec.maxPayloadBytes) {
    throw new HspPacketError(`HSP payload of ${payloadBytes} bytes is over ${codec.maxPayloadBytes}`);
  }
  const block = encodeHeaderBlock(headers, codec.maxHeaderBytes);
  return Buffer.concat([codec.writePreamble({ flags: 0, headerBytes: block.length, payloadBytes }), block]);
}

/** A whole packet. */
export function encodePacket(headers: HspHeadersInit, payload: Uint8Array | string = Buffer.alloc(0), codec?: HspVersionCodec): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([encodePacketHead(headers, body.length, codec), body]);
}

// ignoreBOM: a leading U+FEFF stays in the text (and is refused as part of a name), never silently dropped.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Shows a bit of a bad line in an error, escaped and short. */
function excerpt(line: string): string {
  return JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line);
}

/**
 * Parses a header block. CRLF line ends are refused (an HSP line ends with `\n` alone): a
 * value never silently ends in `\r`, and a length the client counted with one convention
 * is never read with the other. Values are trimmed of spaces and tabs (`status: 0` reads
 * as `0`); a key is everything before the first `:`; a key given twice is refused.
 */
export function parseHeaderBlock(block: Uint8Array): Map<string, string> {
  let text: string;
  try {
    text = utf8.decode(block);
  } catch {
    throw new HspPacketError('HSP header block is not valid UTF-8');
  }
  if (text.includes('\r\n')) throw new HspPacketError('HSP header block has CRLF line ends: HSP lines end with \\n alone');
  if (!text.endsWith('\n') || (text.length > 1 && !text.endsWith('\n\n'))) {
    throw new HspPacketError('HSP header block does not end with an empty line (each header as key:value\\n, then \\n)');
  }
  const headers = new Map<string, string>();
  if (text.length === 1) return headers;
  const lines = text.slice(0, -2).split('\n');
  lines.forEach((line, index) => {
    const at = `HSP header line ${index + 1}`;
    if (line === '') throw new HspPacketError(`${at} is empty: the empty line ends the header block, and it is not at its end`);
    const colon = line.indexOf(':');
    if (colon < 0) throw new HspPacketError(`${at} has no ':' (${excerpt(line)})`);
    const key = line.slice(0, colon);
    if (!VALID_KEY.test(key)) throw new HspPacketError(`${at} has an invalid name ${excerpt(key)}`);
    const value = line.slice(colon + 1).replace(EDGE_BLANKS, '');
    if (!VALID_VALUE.test(value)) throw new HspPacketError(`${at} (${key}) has a control character in its value`);
    if (headers.has(key)) throw new HspPacketError(`${at}: header ${key} given twice`);
    headers.set(key, value);
  });
  return headers;
}
