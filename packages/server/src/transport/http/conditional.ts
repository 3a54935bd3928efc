import type { IncomingMessage } from 'node:http';

/**
 * Validators of a representation (RFC 9110 §8.8). Only COMPLETED resources have them:
 * their bytes never change again, so the id is a strong ETag (unique, never reused) — or
 * the MD5, for one that has it (as before CRC-32 became the default): no MD5 needed. A growing resource has
 * none (its representation changes with every checkpoint), so conditional requests
 * against it fall back to unconditional behaviour.
 */
export interface Validators {
  /** Strong entity tag, quoted: `"<md5 hex>"` when the resource has an MD5, else `"id-<resource id>"`. */
  etag: string;
  /** Whole seconds (HTTP dates have no finer resolution). */
  lastModifiedSeconds: number;
}

export function validatorsFor(id: string, checksum: string | null | undefined, completedAtMs: number | null): Validators | undefined {
  if (completedAtMs === null) return undefined;
  return { etag: checksum ? `"${checksum}"` : `"id-${id}"`, lastModifiedSeconds: Math.floor(completedAtMs / 1000) };
}

export function lastModifiedHeader(validators: Validators): string {
  return new Date(validators.lastModifiedSeconds * 1000).toUTCString();
}

function parseHttpDateSeconds(value: string): number | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** Entity tags listed in If-None-Match; weak comparison (`W/` ignored), `*` matches anything. */
function noneMatchHits(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * True when a GET/HEAD should be answered 304 (RFC 9110 §13.2.2): If-None-Match wins over
 * If-Modified-Since when both are present.
 */
export function isNotModified(req: IncomingMessage, validators: Validators | undefined): boolean {
  if (!validators) return false;
  const noneMatch = req.headers['if-none-match'];
  if (noneMatch !== undefined) return noneMatchHits(noneMatch, validators.etag);
  const since = req.headers['if-modified-since'];
  if (since === undefined) return false;
  const sinceSeconds = parseHttpDateSeconds(since);
  return sinceSeconds !== undefined && validators.lastModifiedSeconds <= sinceSeconds;
}

/**
 * True when the Range header may be honoured (RFC 9110 §13.1.5): no If-Range, or an
 * If-Range naming the current representation — a strong ETag match or the exact
 * Last-Modified date. Otherwise the whole content is sent (200), as the client's
 * partial copy is of another representation.
 */
export function ifRangeAllows(req: IncomingMessage, validators: Validators | undefined): boolean {
  const header = req.headers['if-range'];
  const ifRange = Array.isArray(header) ? header[0] : header;
  if (ifRange === undefined) return true;
  if (!validators) return false;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === validators.etag;
  return parseHttpDateSeconds(value) === validators.lastModifiedSeconds;
}
