import { InvalidMessageError } from '@spool/common';
import type { Request } from 'express';
import { headerValue, queryParam } from '../../transport/http/request-params.js';

const MD5_HEX = /^[0-9a-fA-F]{32}$/;
const MD5_BASE64 = /^[A-Za-z0-9+/]{22}==$/;

/** A whole-resource MD5 as lowercase hex: `?md5=<hex>` or `Spool-MD5: <hex>`. */
export function resourceMd5(req: Request): string | undefined {
  const value = queryParam(req, 'md5') ?? headerValue(req, 'spool-md5');
  if (value === undefined) return undefined;
  if (!MD5_HEX.test(value)) throw new InvalidMessageError(`md5 must be 32 hex digits, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** `Content-MD5` (RFC 1864: base64 of the 16 digest bytes) as lowercase hex. */
export function contentMd5(req: Request): string | undefined {
  const value = headerValue(req, 'content-md5');
  if (value === undefined) return undefined;
  if (!MD5_BASE64.test(value)) throw new InvalidMessageError(`Content-MD5 must be the base64 of 16 bytes, got ${JSON.stringify(value)}`);
  return Buffer.from(value, 'base64').toString('hex');
}

/** The expected MD5 of a one-shot upload, whose body is the whole resource: any of the forms above, which must agree. */
export function expectedMd5OfBody(req: Request): string | undefined {
  const fromContent = contentMd5(req);
  const fromResource = resourceMd5(req);
  if (fromContent && fromResource && fromContent !== fromResource) {
    throw new InvalidMessageError('Content-MD5 and md5 disagree');
  }
  return fromContent ?? fromResource;
}

export type UploadChecksum = 'md5' | 'none';
const UPLOAD_CHECKSUMS: readonly UploadChecksum[] = ['md5', 'none'];

/**
 * Whether a one-shot upload hashes its bytes: `?checksum=md5|none` or `Spool-Checksum`,
 * else the server's `httpUploadChecksum`. An MD5 to verify (`expected`) needs one, so it
 * turns hashing on, and contradicts an explicit `none`.
 */
export function uploadChecksum(req: Request, configured: UploadChecksum, expected: string | undefined): UploadChecksum {
  const asked = queryParam(req, 'checksum') ?? headerValue(req, 'spool-checksum');
  if (asked === undefined) return expected === undefined ? configured : 'md5';
  const choice = asked.toLowerCase() as UploadChecksum;
  if (!UPLOAD_CHECKSUMS.includes(choice)) {
    throw new InvalidMessageError(`checksum must be one of ${UPLOAD_CHECKSUMS.join(', ')}, got ${JSON.stringify(asked)}`);
  }
  if (choice === 'none' && expected !== undefined) throw new InvalidMessageError('An MD5 to verify needs checksum=md5, not none');
  return choice;
}
