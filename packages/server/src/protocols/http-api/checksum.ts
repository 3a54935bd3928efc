import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  type Checksums,
  checksumBase64ToHex,
  checksumHexToBase64,
  InvalidMessageError,
} from '@spool/common';
import type { Request } from 'express';
import { headerValue, queryParam } from '../../transport/http/request-params.js';
import { chosenChecksums, configuredChecksums } from '../shared/checksums.js';
import type { HttpContext } from './context.js';

const MD5_HEX = /^[0-9a-fA-F]{32}$/;
const MD5_BASE64 = /^[A-Za-z0-9+/]{22}==$/;

/**
 * Digest field keys (RFC 9530's registry: `sha-256`, `md5`; `crc32` is not registered —
 * S3 and tus clients call it so) and the algorithm each names. Keys are compared
 * case-insensitively (RFC 3230's `Digest` wrote `MD5`, `SHA-256`).
 */
const DIGEST_KEYS: Record<string, ChecksumAlgorithm> = { crc32: 'crc32', md5: 'md5', 'sha-256': 'sha256' };
const KEY_OF: Record<ChecksumAlgorithm, string> = { crc32: 'crc32', md5: 'md5', sha256: 'sha-256' };

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

/**
 * `Repr-Digest: crc32=:<base64>:, sha-256=:<base64>:` (RFC 9530, a structured dictionary
 * of byte sequences) or the legacy `Digest: MD5=<base64>` (RFC 3230): the checksums of
 * the whole representation. Algorithms Spool does not compute are ignored, as RFC 9530
 * asks; a known one with a malformed value is an INVALID_MESSAGE.
 */
export function digestFields(req: Request): Checksums {
  const out: Checksums = {};
  for (const [field, sequence] of [
    ['repr-digest', true],
    ['digest', false],
  ] as const) {
    const value = headerValue(req, field);
    if (value === undefined) continue;
    for (const member of value.split(',')) {
      const at = member.indexOf('=');
      if (at < 0) continue;
      const algorithm = DIGEST_KEYS[member.slice(0, at).trim().toLowerCase()];
      if (!algorithm) continue;
      let encoded = member.slice(at + 1).trim();
      // Parameters of a dictionary member (`;…`) say nothing about the value.
      encoded = encoded.split(';')[0]?.trim() ?? '';
      if (sequence) encoded = /^:(.*):$/.exec(encoded)?.[1] ?? '\0';
      const hex = checksumBase64ToHex(algorithm, encoded);
      if (hex === undefined) throw new InvalidMessageError(`${field} ${KEY_OF[algorithm]} is not the base64 of a ${algorithm} digest`);
      agree(out, algorithm, hex, field);
    }
  }
  return out;
}

/** Adds `hex` as the expected `algorithm` unless another field said otherwise (INVALID_MESSAGE). */
function agree(into: Checksums, algorithm: ChecksumAlgorithm, hex: string, source: string): void {
  const known = into[algorithm];
  if (known !== undefined && known !== hex) throw new InvalidMessageError(`${source} disagrees with another ${algorithm} of the request`);
  into[algorithm] = hex;
}

/** The expected whole-resource checksums of a request: `?md5=`/`Spool-MD5` and the digest fields. */
export function resourceChecksums(req: Request): Checksums {
  const out = digestFields(req);
  const md5 = resourceMd5(req);
  if (md5 !== undefined) agree(out, 'md5', md5, 'md5');
  return out;
}

/** The expected checksums of a one-shot upload, whose body is the whole resource: the above and `Content-MD5`. */
export function expectedChecksumsOfBody(req: Request): Checksums {
  const out = resourceChecksums(req);
  const md5 = contentMd5(req);
  if (md5 !== undefined) agree(out, 'md5', md5, 'Content-MD5');
  return out;
}

/** Algorithms a `Want-Repr-Digest: sha-256=5, md5=0` asks for (weight above 0), known ones only. */
function wantedDigests(req: Request): ChecksumAlgorithm[] {
  const value = headerValue(req, 'want-repr-digest');
  if (value === undefined) return [];
  const wanted = new Set<ChecksumAlgorithm>();
  for (const member of value.split(',')) {
    const [key = '', weight = '1'] = member.split('=').map((part) => part.trim());
    const algorithm = DIGEST_KEYS[key.toLowerCase()];
    if (algorithm && Number(weight) > 0) wanted.add(algorithm);
  }
  return [...wanted];
}

/**
 * The checksums an upload computes: `?checksum=crc32,md5|none` or `Spool-Checksum`,
 * else `configured`; with those `expected` needs (to verify them) and those a
 * `Want-Repr-Digest` asks for. An expected checksum an explicit choice leaves out is an
 * INVALID_MESSAGE.
 */
export function uploadChecksums(ctx: HttpContext, req: Request, expected: Checksums = {}): ChecksumAlgorithm[] {
  const configured = configuredChecksums(ctx.config, ctx.config.httpUploadChecksum);
  const asked = queryParam(req, 'checksum') ?? headerValue(req, 'spool-checksum');
  const needed = Object.keys(expected) as ChecksumAlgorithm[];
  let chosen: readonly ChecksumAlgorithm[] = configured;
  if (asked !== undefined) {
    chosen = chosenChecksums(asked, 'checksum');
    const missing = needed.filter((name) => !chosen.includes(name));
    if (missing.length > 0)
      throw new InvalidMessageError(`A ${missing.join(', ')} checksum to verify needs checksum=${missing.join(',')} too`);
  }
  const all = new Set<ChecksumAlgorithm>([...chosen, ...needed, ...wantedDigests(req)]);
  return CHECKSUM_ALGORITHMS.filter((name) => all.has(name));
}

/** `Repr-Digest` (RFC 9530) of a resource's checksums; undefined when it has none. */
export function reprDigest(checksums: Checksums | undefined): string | undefined {
  if (!checksums) return undefined;
  const members = CHECKSUM_ALGORITHMS.filter((name) => checksums[name] !== undefined).map(
    (name) => `${KEY_OF[name]}=:${checksumHexToBase64(checksums[name] as string)}:`,
  );
  return members.length > 0 ? members.join(', ') : undefined;
}
