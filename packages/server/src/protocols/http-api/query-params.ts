import { z } from 'zod';

/**
 * Every query parameter of the HTTP API, with what it means: the one table routes take
 * theirs from (index.ts refuses any other) and the OpenAPI description is generated from.
 * Values are strings on the wire; each route parses its own (and answers 400 naming it).
 */
export const QUERY_PARAMS = {
  state: z.string().describe('list: only resources in this state (INITIATED, IN_PROGRESS, COMPLETED, FAILED)'),
  context: z.string().describe('list: only this upload context; upload: the resource’s upload context'),
  prefix: z.string().describe('list: only filenames starting with this'),
  namePrefix: z.string().describe('list: only names starting with this (ci/1234/)'),
  order: z.enum(['asc', 'desc']).describe('list: by creation, oldest (asc, default) or newest first'),
  limit: z.string().regex(/^\d+$/).describe('list: at most this many'),
  after: z.string().describe('list: the page after this id (the previous page’s `nextAfter`)'),
  name: z.string().describe('upload: a path-like name readers may use instead of the id'),
  filename: z.string().describe('upload: the filename'),
  mimeType: z.string().describe('upload: the media type (has the last word over Content-Type)'),
  lineAccess: z.enum(['0', '1', 'true', 'false']).describe('upload: whether lines can be read by number'),
  md5: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/)
    .describe('the whole resource’s expected MD5 (hex); a mismatch fails it (422)'),
  checksum: z
    .string()
    .regex(/^(none|(crc32|md5|sha256)(,(crc32|md5|sha256))*)$/)
    .describe('upload: the checksums to compute, crc32,md5,sha256 or none (default: server setting uploadChecksums)'),
  complete: z.enum(['0', '1', 'true', 'false']).describe('upload: 0 leaves the resource IN_PROGRESS after the body, for appends'),
  follow: z
    .enum(['0', '1', 'true', 'false'])
    .describe('content: keep the answer open and send bytes as they arrive, until the upload ends'),
  start: z.string().regex(/^\d+$/).describe('content: from this byte offset; lines: from this line number'),
  tail: z.string().regex(/^\d+$/).describe('content, lines: from the last N lines'),
  download: z.enum(['0', '1', 'true', 'false']).describe('content: Content-Disposition attachment'),
  count: z.string().regex(/^\d+$/).describe('lines: how many lines'),
  format: z.enum(['json', 'text']).describe('lines: JSON page (default) or the lines’ bytes'),
  token: z.string().describe('the access token, where an Authorization header cannot be sent (never logged)'),
} as const;

export type QueryParam = keyof typeof QUERY_PARAMS;

/** The query a route takes: its parameters, all optional, none other (the credential `token` everywhere). */
export function querySchema(names: readonly QueryParam[]) {
  const shape: Record<string, z.ZodOptional<z.ZodType>> = {};
  for (const name of [...names, 'token' as const]) shape[name] = QUERY_PARAMS[name].optional();
  return z.object(shape).strict();
}
