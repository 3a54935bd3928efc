/**
 * The blob stream format of LEAP Soledad's blob server, byte for byte (see
 * docs/protocols/blob-sync.md): many small opaque blobs in one HTTP body, both ways.
 *
 * - Download (server → client), per blob in the requested order, nothing between records:
 *   its size as 8 lowercase hex digits, the base64url (padded) of its last 16 bytes, one
 *   space, its bytes.
 * - Upload (client → server): one line, a JSON array of `[blob_id, size]` pairs, then
 *   `\n`, then the blobs' bytes concatenated in that order, exactly `size` each.
 */
import { z } from 'zod';
import { InvalidMessageError, ProtocolViolationError } from '../errors.js';
import { describeZodError } from '../metadata.js';

/** Bytes at the end of a blob reported with it (the AES-GCM tag of a Soledad blob). */
export const BLOB_TAG_BYTES = 16;
/** Largest blob the 8 hex digits of a record can state (4 GiB − 1). */
export const MAX_STREAM_BLOB_BYTES = 0xffff_ffff;
/** Longest user, namespace or blob id. */
export const MAX_BLOB_NAME_LENGTH = 128;
/** Users, namespaces and blob ids, as in the original. */
export const BLOB_NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
/** The namespace of a request that names none. */
export const DEFAULT_BLOB_NAMESPACE = 'default';
/** The flags a blob may carry (any other: 406). */
export const BLOB_FLAGS = ['PENDING', 'PROCESSING', 'PROCESSED', 'FAILED'] as const;
export type BlobFlag = (typeof BLOB_FLAGS)[number];

const HEX_DIGITS = 8;
const SPACE = 0x20;

export const BlobNameSchema = z
  .string()
  .max(MAX_BLOB_NAME_LENGTH, `at most ${MAX_BLOB_NAME_LENGTH} characters`)
  .regex(BLOB_NAME_PATTERN, 'letters, digits, _ and - only');
const BlobSizeSchema = z.number().int().min(0).max(MAX_STREAM_BLOB_BYTES, `at most ${MAX_STREAM_BLOB_BYTES} bytes (8 hex digits)`);

/** A download request body: the ids of the blobs wanted, in the order wanted. */
export const BlobIdListSchema = z.array(BlobNameSchema);
/** The first line of an upload: `[id, size]` per blob, in the order of the bytes. */
export const BlobUploadListSchema = z.array(z.tuple([BlobNameSchema, BlobSizeSchema]));
export type BlobUploadEntry = [id: string, size: number];

export function isBlobName(value: string): boolean {
  return value.length <= MAX_BLOB_NAME_LENGTH && BLOB_NAME_PATTERN.test(value);
}

/**
 * The tag of a blob: base64url with padding of its last 16 bytes — of the whole blob
 * when it is shorter (an empty blob: the empty string). `tail` may be the whole blob.
 */
export function blobTag(tail: Uint8Array): string {
  const last = tail.subarray(Math.max(0, tail.length - BLOB_TAG_BYTES));
  return Buffer.from(last.buffer, last.byteOffset, last.length).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Characters of the tag of a blob of `size` bytes (24 from 16 bytes up). */
export function blobTagLength(size: number): number {
  return 4 * Math.ceil(Math.min(size, BLOB_TAG_BYTES) / 3);
}

/** The bytes before a blob's content in a download: size (`%08x`), tag, space. RangeError past 4 GiB − 1. */
export function blobRecordHeader(size: number, tail: Uint8Array): Buffer {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_STREAM_BLOB_BYTES) {
    throw new RangeError(`A blob of ${size} bytes cannot be streamed: the format states sizes up to ${MAX_STREAM_BLOB_BYTES}`);
  }
  return Buffer.from(`${size.toString(16).padStart(HEX_DIGITS, '0')}${blobTag(tail)} `, 'latin1');
}

/** The first line of an upload body, `\n` included. */
export function blobUploadPreamble(entries: readonly (readonly [string, number])[]): Buffer {
  return Buffer.from(`${JSON.stringify(entries)}\n`, 'utf8');
}

/** JSON text → value, or INVALID_MESSAGE naming `what`. */
function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidMessageError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

/**
 * Parses the first line of an upload body (without its `\n`). INVALID_MESSAGE, saying
 * what is wrong, for anything but a JSON array of `[id, size]` with distinct valid ids
 * and sizes 0 … 4 GiB − 1.
 */
export function parseBlobUploadPreamble(line: string): BlobUploadEntry[] {
  const parsed = BlobUploadListSchema.safeParse(parseJson(line, 'The first line of the upload'));
  if (!parsed.success) {
    throw new InvalidMessageError(
      `The first line of the upload must be a JSON array of [blob_id, size]: ${describeZodError(parsed.error)}`,
    );
  }
  const seen = new Set<string>();
  for (const [id] of parsed.data) {
    if (seen.has(id)) throw new InvalidMessageError(`Blob ${id} is listed twice in the upload`, { blob: id });
    seen.add(id);
  }
  return parsed.data as BlobUploadEntry[];
}

/** One blob of a download stream, as the decoder reports it. */
export type BlobStreamEvent =
  | { type: 'start'; size: number; tag: string }
  /** Part of the current blob's bytes (a view of the pushed chunk: copy it to keep it). */
  | { type: 'data'; bytes: Uint8Array }
  | { type: 'end' };

/**
 * Decodes a download body incrementally, whatever the chunking: `push` returns what the
 * chunk completes; `end` checks the body stopped between records. A malformed record
 * (not 8 hex digits, a tag of the wrong length, no space) is PROTOCOL_VIOLATION. Holds at
 * most one record header (33 bytes) between chunks.
 */
export class BlobStreamDecoder {
  private header = '';
  /** Bytes of the current blob still to come; undefined between records. */
  private remaining: number | undefined;
  private offset = 0;

  push(chunk: Uint8Array): BlobStreamEvent[] {
    const events: BlobStreamEvent[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining === undefined) {
        const space = chunk.indexOf(SPACE, at);
        const end = space === -1 ? chunk.length : space;
        this.header += Buffer.from(chunk.buffer, chunk.byteOffset + at, end - at).toString('latin1');
        if (this.header.length > HEX_DIGITS + blobTagLength(BLOB_TAG_BYTES)) this.malformed('no space after the size and tag');
        this.offset += end - at;
        at = end;
        if (space === -1) break;
        at++;
        this.offset++;
        const start = this.parseHeader();
        events.push(start);
        this.remaining = start.size;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      if (take > 0) events.push({ type: 'data', bytes: chunk.subarray(at, at + take) });
      at += take;
      this.offset += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        events.push({ type: 'end' });
        this.remaining = undefined;
      }
    }
    return events;
  }

  /** Throws PROTOCOL_VIOLATION if the body stopped inside a record. */
  end(): void {
    if (this.remaining !== undefined) {
      throw new ProtocolViolationError(`The blob stream ended ${this.remaining} bytes before the end of a blob (at byte ${this.offset})`);
    }
    if (this.header !== '') this.malformed('the stream ended inside a record header');
  }

  /** True between records (nothing of a next record received yet). */
  get atBoundary(): boolean {
    return this.remaining === undefined && this.header === '';
  }

  private parseHeader(): Extract<BlobStreamEvent, { type: 'start' }> {
    const header = this.header;
    this.header = '';
    const hex = header.slice(0, HEX_DIGITS);
    if (!/^[0-9a-f]{8}$/.test(hex)) this.malformed(`${JSON.stringify(hex)} is not 8 lowercase hex digits`);
    const size = Number.parseInt(hex, 16);
    const tag = header.slice(HEX_DIGITS);
    if (tag.length !== blobTagLength(size) || !/^[A-Za-z0-9_-]*={0,2}$/.test(tag)) {
      this.malformed(`the tag of a ${size}-byte blob must be ${blobTagLength(size)} base64url characters, got ${JSON.stringify(tag)}`);
    }
    return { type: 'start', size, tag };
  }

  private malformed(why: string): never {
    throw new ProtocolViolationError(`Malformed blob stream record before byte ${this.offset}: ${why}`);
  }
}
