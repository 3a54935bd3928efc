import { isUtf8 } from 'node:buffer';

/**
 * What a resource's type is when its uploader did not say: the file name's extension,
 * failing that its first bytes. The server (HTTP uploads, form parts) and the SDK (file
 * and stream sources) decide the same way, so `curl -T build.log`, `curl -F f=@trace.ndjson`
 * and `upload('./build.log')` all become text with line access.
 */

export const DEFAULT_MIME_TYPE = 'application/octet-stream';
/** What bytes that look like text are stored as when nothing else says what they are. */
export const SNIFFED_TEXT_MIME_TYPE = 'text/plain';

const TYPE_BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  out: 'text/plain',
  err: 'text/plain',
  text: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  xml: 'text/xml',
  yaml: 'text/yaml',
  yml: 'text/yaml',
  toml: 'application/toml',
  ini: 'text/plain',
  conf: 'text/plain',
  cfg: 'text/plain',
  diff: 'text/x-diff',
  patch: 'text/x-diff',
  sh: 'text/x-shellscript',
  py: 'text/x-python',
  java: 'text/x-java',
  c: 'text/x-c',
  h: 'text/x-c',
  go: 'text/x-go',
  rs: 'text/x-rust',
  ts: 'text/x-typescript',
  sql: 'application/sql',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  jsonl: 'application/jsonl',
  js: 'text/javascript',
  mjs: 'text/javascript',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  zst: 'application/zstd',
  tar: 'application/x-tar',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  flac: 'audio/flac',
  bin: 'application/octet-stream',
};

/** The type a file name's extension says (`build.log` → text/plain), or undefined if it says none. */
export function guessMimeType(filename: string): string | undefined {
  const dot = filename.lastIndexOf('.');
  if (dot <= 0 || dot === filename.length - 1) return undefined;
  return TYPE_BY_EXTENSION[filename.slice(dot + 1).toLowerCase()];
}

/** Non-`text/*` types whose bytes are text: structured logs and data read line by line. */
const TEXT_LIKE = new Set([
  'application/json',
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
  'application/json-seq',
  'application/xml',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/sql',
  'application/csv',
  'application/x-csv',
  'application/x-sh',
  'application/x-shellscript',
]);

/**
 * True for types whose bytes are text, which get line access by default: `text/*`, JSON
 * and its line-delimited forms (ndjson, JSON lines), `+json`/`+xml` types, XML, YAML, CSV …
 */
export function isTextLike(mimeType: string): boolean {
  const type = mimeType.toLowerCase();
  return type.startsWith('text/') || TEXT_LIKE.has(type) || type.endsWith('+json') || type.endsWith('+xml');
}

/** Bytes looked at by {@link looksLikeText}. */
export const SNIFF_BYTES = 8192;

/**
 * True if the first bytes of a file look like text: not empty, no NUL byte, valid UTF-8
 * (a character cut by the end of the sample is fine), and at most one control character
 * in a hundred besides tab, line breaks, form feed, backspace and ESC (ANSI colours in
 * build logs). Anything else (images, archives, UTF-16) is binary.
 */
export function looksLikeText(head: Uint8Array): boolean {
  const sample = head.subarray(0, SNIFF_BYTES);
  if (sample.length === 0) return false;
  let controls = 0;
  for (const byte of sample) {
    if (byte === 0) return false;
    if ((byte < 0x20 && !ALLOWED_CONTROLS.has(byte)) || byte === 0x7f) controls++;
  }
  if (controls * 100 > sample.length) return false;
  return isUtf8(withoutCutCharacter(sample));
}

const ALLOWED_CONTROLS = new Set([0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]);

/** `sample` less a UTF-8 sequence its end cuts short (a sample is the start of a stream: more may follow). */
function withoutCutCharacter(sample: Uint8Array): Uint8Array {
  // Walk back over at most 3 continuation bytes to the lead byte of the last sequence.
  let lead = sample.length - 1;
  while (lead > 0 && sample.length - lead < 4 && ((sample[lead] as number) & 0xc0) === 0x80) lead--;
  const byte = sample[lead] as number;
  const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  return lead + length > sample.length ? sample.subarray(0, lead) : sample;
}
