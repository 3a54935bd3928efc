import { TextDecoder } from 'node:util';
import { InvalidMetadataError } from '@spool/common';

// WHATWG maps these labels to windows-1252, which differs from ISO-8859-1 in 0x80–0x9F
// (e.g. 0x80 is U+20AC there, U+0080 here); Buffer's latin1 decoding is the real thing.
const LATIN1_LABELS = new Set([
  'iso-8859-1',
  'iso8859-1',
  'iso_8859-1',
  'iso8859_1',
  'latin1',
  'latin-1',
  'l1',
  'iso-ir-100',
  'cp819',
  'ibm819',
  'csisolatin1',
  'iso_8859-1:1987',
]);
// Same trap for ASCII; Java's US-ASCII decoder turns bytes ≥ 0x80 into U+FFFD.
const ASCII_LABELS = new Set(['us-ascii', 'ascii', 'us_ascii', 'iso646-us', 'ansi_x3.4-1968', 'cp367', 'ibm367', 'csascii']);
const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8']);

const NON_ASCII = /[\u0080-\u00ff]/g;

/** Turns chunks of text in some charset into UTF-8 chunks, carrying state across chunk boundaries. */
export interface Utf8Transcoder {
  /** Transcodes one chunk; may return an empty buffer when the chunk ends inside a character. */
  write(chunk: Buffer): Buffer;
  /** Flushes what is left (an incomplete trailing sequence becomes U+FFFD). */
  end(): Buffer;
}

function normalizeLabel(charset: string): string {
  return charset.trim().toLowerCase();
}

/** True if bytes in `charset` need no transcoding to be UTF-8. */
export function isUtf8Charset(charset: string): boolean {
  return UTF8_LABELS.has(normalizeLabel(charset));
}

/**
 * Creates a transcoder from `charset` to UTF-8. ISO-8859-1 and US-ASCII are decoded
 * exactly (not as windows-1252, as `TextDecoder` would); any other charset the runtime's
 * `TextDecoder` knows is decoded in streaming mode, so multi-byte sequences split across
 * chunks come out right. Java-style names (`ISO8859_1`, `UTF_16LE`) are accepted too.
 * @throws InvalidMetadataError if the charset is unknown.
 */
export function createUtf8Transcoder(charset: string): Utf8Transcoder {
  const label = normalizeLabel(charset);
  const empty = Buffer.alloc(0);
  if (UTF8_LABELS.has(label)) {
    return { write: (chunk) => chunk, end: () => empty };
  }
  if (LATIN1_LABELS.has(label)) {
    // Single-byte charset: every chunk decodes on its own.
    return { write: (chunk) => Buffer.from(chunk.toString('latin1'), 'utf8'), end: () => empty };
  }
  if (ASCII_LABELS.has(label)) {
    return { write: (chunk) => Buffer.from(chunk.toString('latin1').replace(NON_ASCII, '\ufffd'), 'utf8'), end: () => empty };
  }
  const decoder = createTextDecoder(label, charset);
  return {
    write: (chunk) => Buffer.from(decoder.decode(chunk, { stream: true }), 'utf8'),
    end: () => Buffer.from(decoder.decode(), 'utf8'),
  };
}

function createTextDecoder(label: string, charset: string): TextDecoder {
  for (const candidate of new Set([label, label.replaceAll('_', '-')])) {
    try {
      return new TextDecoder(candidate, { fatal: false });
    } catch {
      // Unknown label; try the next spelling.
    }
  }
  throw new InvalidMetadataError(`Unsupported sourceCharset "${charset}"`, { sourceCharset: charset });
}

/**
 * Transcodes a byte stream from `charset` to UTF-8, chunk by chunk (memory stays at one
 * chunk). Empty output chunks are skipped.
 * @throws InvalidMetadataError (at once, not on iteration) if the charset is unknown.
 */
export function transcodeToUtf8(chunks: AsyncIterable<Buffer>, charset: string): AsyncIterable<Buffer> {
  const transcoder = createUtf8Transcoder(charset);
  return (async function* transcode() {
    for await (const chunk of chunks) {
      const utf8 = transcoder.write(chunk);
      if (utf8.length > 0) yield utf8;
    }
    const rest = transcoder.end();
    if (rest.length > 0) yield rest;
  })();
}
