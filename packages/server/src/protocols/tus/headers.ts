import { InvalidMessageError } from '@spool/common';
import type { Request } from 'express';
import { HttpError, HttpErrorCode } from '../../transport/http/errors.js';
import { headerValue, parseNonNegativeInteger } from '../../transport/http/request-params.js';

/**
 * The tus 1.0.0 request headers (https://tus.io/protocols/resumable-upload), parsed
 * strictly: a malformed value is a 400 naming the header, never a guess.
 */

export const TUS_VERSION = '1.0.0';

/** The body type of every tus request that carries upload bytes. */
export const OFFSET_OCTET_STREAM = 'application/offset+octet-stream';

/** Every tus request but OPTIONS says which protocol version it speaks: 412 with `Tus-Version` otherwise. */
export function requireTusResumable(req: Request): void {
  const version = headerValue(req, 'tus-resumable');
  if (version === TUS_VERSION) return;
  throw new HttpError(
    412,
    HttpErrorCode.PRECONDITION_FAILED,
    version === undefined
      ? `Tus-Resumable: ${TUS_VERSION} is required on every tus request`
      : `Tus-Resumable ${JSON.stringify(version)} is not supported: this server speaks tus ${TUS_VERSION}`,
    { 'Tus-Version': TUS_VERSION },
  );
}

/** Upload bytes come as `application/offset+octet-stream` (415 otherwise). */
export function requireOffsetOctetStream(req: Request): void {
  const type = (headerValue(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === OFFSET_OCTET_STREAM) return;
  throw new HttpError(
    415,
    HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
    `Upload bytes must be sent as Content-Type: ${OFFSET_OCTET_STREAM}${type ? `, not ${type}` : ''}`,
    { 'Accept-Patch': OFFSET_OCTET_STREAM },
  );
}

export function uploadOffsetOf(req: Request): number {
  const offset = parseNonNegativeInteger(headerValue(req, 'upload-offset'), 'Upload-Offset');
  if (offset === undefined) throw new InvalidMessageError('Upload-Offset is required: the offset this body starts at (HEAD tells it)');
  return offset;
}

/** `Upload-Length` if the request has one. */
export function uploadLengthOf(req: Request): number | undefined {
  return parseNonNegativeInteger(headerValue(req, 'upload-length'), 'Upload-Length');
}

/** A creation's length: `Upload-Length`, or null with `Upload-Defer-Length: 1` — exactly one of them. */
export function declaredLengthOf(req: Request): number | null {
  const length = uploadLengthOf(req);
  const defer = headerValue(req, 'upload-defer-length');
  if (defer !== undefined && defer !== '1') throw new InvalidMessageError(`Upload-Defer-Length must be 1, got ${JSON.stringify(defer)}`);
  if (length !== undefined && defer !== undefined) throw new InvalidMessageError('Send Upload-Length or Upload-Defer-Length: 1, not both');
  if (length === undefined && defer === undefined) {
    throw new InvalidMessageError('Upload-Length is required (or Upload-Defer-Length: 1 when the length is not known yet)');
  }
  return length ?? null;
}

// ---- Upload-Metadata ------------------------------------------------------------------

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(value: string, name: string): Buffer {
  if (!BASE64.test(value)) throw new InvalidMessageError(`${name} is not valid base64: ${JSON.stringify(value.slice(0, 64))}`);
  return Buffer.from(value, 'base64');
}

/**
 * `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be left out);
 * keys are non-empty, without spaces or commas, and unique. Values are decoded; their
 * meaning is the caller's.
 */
export function parseUploadMetadata(header: string | undefined): Map<string, Buffer> {
  const pairs = new Map<string, Buffer>();
  if (header === undefined || header.trim() === '') return pairs;
  for (const item of header.split(',')) {
    const pair = item.trim();
    const space = pair.indexOf(' ');
    const key = space === -1 ? pair : pair.slice(0, space);
    const value = space === -1 ? '' : pair.slice(space + 1).trim();
    if (key === '') throw new InvalidMessageError('Upload-Metadata has an empty key (pairs are "key base64value", comma-separated)');
    if (/[\s,]/.test(key) || value.includes(' ')) {
      throw new InvalidMessageError(`Upload-Metadata pair ${JSON.stringify(pair.slice(0, 64))} is not "key base64value"`);
    }
    if (pairs.has(key)) throw new InvalidMessageError(`Upload-Metadata has the key ${JSON.stringify(key)} twice`);
    pairs.set(key, decodeBase64(value, `Upload-Metadata value of ${JSON.stringify(key)}`));
  }
  return pairs;
}

// ---- Upload-Concat --------------------------------------------------------------------

export type UploadConcat = { kind: 'partial' } | { kind: 'final'; urls: string[] };

/** Most partial uploads one final upload concatenates. */
export const MAX_CONCAT_PARTS = 1000;

/** `Upload-Concat: partial`, or `final;<url> <url> …` (absolute or relative URLs of partial uploads). */
export function parseUploadConcat(header: string | undefined): UploadConcat | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === 'partial') return { kind: 'partial' };
  if (value.startsWith('final;')) {
    const urls = value
      .slice('final;'.length)
      .split(' ')
      .filter((url) => url !== '');
    if (urls.length === 0) throw new InvalidMessageError('Upload-Concat: final; needs the URLs of the partial uploads, space-separated');
    if (urls.length > MAX_CONCAT_PARTS)
      throw new InvalidMessageError(`Upload-Concat: final; names more than ${MAX_CONCAT_PARTS} partial uploads`);
    return { kind: 'final', urls };
  }
  throw new InvalidMessageError(`Upload-Concat must be "partial" or "final;<urls>", got ${JSON.stringify(value.slice(0, 64))}`);
}

// ---- Upload-Checksum ------------------------------------------------------------------

/** The checksum extension's algorithms, by tus name, with their digest lengths. */
export const CHECKSUM_ALGORITHMS = { crc32: 4, sha1: 20, md5: 16, sha256: 32 } as const;
export type ChecksumAlgorithm = keyof typeof CHECKSUM_ALGORITHMS;

export interface UploadChecksum {
  algorithm: ChecksumAlgorithm;
  digest: Buffer;
}

/** `Upload-Checksum: <algorithm> <base64 digest>` of this request's body. An algorithm not supported is a 400. */
export function parseUploadChecksum(header: string | undefined): UploadChecksum | undefined {
  if (header === undefined) return undefined;
  const [name = '', encoded, ...rest] = header.trim().split(' ');
  const algorithm = name.toLowerCase();
  if (!Object.hasOwn(CHECKSUM_ALGORITHMS, algorithm)) {
    throw new InvalidMessageError(
      `Upload-Checksum algorithm ${JSON.stringify(name.slice(0, 32))} is not supported; supported: ${Object.keys(CHECKSUM_ALGORITHMS).join(', ')}`,
    );
  }
  if (encoded === undefined || rest.length > 0) throw new InvalidMessageError('Upload-Checksum must be "<algorithm> <base64 digest>"');
  const digest = decodeBase64(encoded, 'Upload-Checksum digest');
  const expectedLength = CHECKSUM_ALGORITHMS[algorithm as ChecksumAlgorithm];
  if (digest.length !== expectedLength) {
    throw new InvalidMessageError(`Upload-Checksum ${algorithm} digest must be ${expectedLength} bytes, got ${digest.length}`);
  }
  return { algorithm: algorithm as ChecksumAlgorithm, digest };
}
