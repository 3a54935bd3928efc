/**
 * Spool's own WebSocket protocol (see docs/protocols/spool-websocket.md): JSON text
 * control messages typed by the property "type", data in binary messages. Every binary
 * message the server sends is announced by the text message just before it (`data` or
 * `range`), so the two are never ambiguous.
 */
import { z } from 'zod';
import { CHECKSUM_ALGORITHMS, type Checksums } from '../checksums.js';
import { type ResourceStatus, TransferState } from '../status.js';

/** Subprotocol name a client may offer (`Sec-WebSocket-Protocol`); the server selects it when offered. */
export const SPOOL_SUBPROTOCOL = 'spool.v1';
export const SPOOL_UPLOAD_PATH = '/ws/spool/v1/upload';
export const SPOOL_RESOURCE_PATH_PREFIX = '/ws/spool/v1/resources/';
/** The close a Spool client sends once the upload ended (`completed` or `aborted` received). */
export const SPOOL_UPLOAD_DONE_REASON = 'Upload done';

const offset = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const requestId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const md5Hex = z.string().regex(/^[0-9a-fA-F]{32}$/, 'md5 must be 32 hex digits');
/** Expected checksums, hex: the server refuses `finish` on a mismatch. */
const expectedChecksums = z
  .object({
    crc32: z
      .string()
      .regex(/^[0-9a-fA-F]{8}$/, 'crc32 must be 8 hex digits')
      .optional(),
    md5: md5Hex.optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'sha256 must be 64 hex digits')
      .optional(),
  })
  .strict();
/** Which checksums the server computes for this upload (default: the server's, crc32); [] for none. */
const checksumChoice = z.array(z.enum(CHECKSUM_ALGORITHMS)).max(CHECKSUM_ALGORITHMS.length);
/** Checksums as a server reports them (unknown algorithms of a newer server are kept). */
const reportedChecksums = z.record(z.string(), z.string());
const state = z.enum([TransferState.INITIATED, TransferState.IN_PROGRESS, TransferState.COMPLETED, TransferState.FAILED]);

// ---- upload path: client → server ---------------------------------------------------

export const SpoolCreateSchema = z
  .object({
    type: z.literal('create'),
    /** Validated by the core (filename, mimeType, supportsLineAccess). */
    metadata: z.record(z.string(), z.unknown()),
    contextId: z.string().min(1).max(1024).nullable().optional(),
    /** A path-like name readers may use instead of the id (`ci/1234/build.log`): unique among live resources. */
    name: z.string().min(1).max(1024).nullable().optional(),
    checksums: checksumChoice.optional(),
  })
  .strict();
export const SpoolResumeSchema = z
  .object({
    type: z.literal('resume'),
    id: z.string().min(1).max(1024),
    /** When given, must equal the durable offset (else OFFSET_MISMATCH); omit to be told it. */
    offset: offset.optional(),
    checksums: checksumChoice.optional(),
  })
  .strict();
export const SpoolFinishSchema = z
  .object({
    type: z.literal('finish'),
    /** Hex MD5 of all bytes (needs `md5` among the upload's checksums); the server refuses a mismatch. */
    md5: md5Hex.optional(),
    /** Hex checksums of all bytes, each among the upload's checksums; the server refuses a mismatch. */
    checksums: expectedChecksums.optional(),
  })
  .strict();
export const SpoolAbortSchema = z.object({ type: z.literal('abort'), reason: z.string().max(1024).optional() }).strict();

export const SpoolUploadClientMessageSchema = z.discriminatedUnion('type', [
  SpoolCreateSchema,
  SpoolResumeSchema,
  SpoolFinishSchema,
  SpoolAbortSchema,
]);
export const SPOOL_UPLOAD_CLIENT_TYPES = ['create', 'resume', 'finish', 'abort'] as const;

// ---- upload path: server → client ---------------------------------------------------

export const SpoolReferencesSchema = z.object({
  /** This protocol's resource URI (status, push-follow, reads). */
  spool: z.string(),
  /** The Step-compatible download URI (Java clients, the Step SDK). */
  step: z.string(),
  /** The HTTP content URL. */
  http: z.string(),
});
export const SpoolReadySchema = z.object({
  type: z.literal('ready'),
  id: z.string(),
  /** The resource's name, when it has one. */
  name: z.string().nullable().optional(),
  /** The durable offset: the next binary message is appended here. */
  offset: offset,
  state: state,
  /** Shareable URIs; with access control on and on `create`, they carry the read token. */
  references: SpoolReferencesSchema,
  /** Issued on `create` when access control is on: resume with it (Bearer or ?token=). */
  writeToken: z.string().optional(),
  readToken: z.string().optional(),
});
export const SpoolDurableSchema = z.object({ type: z.literal('durable'), offset: offset });
export const SpoolCompletedSchema = z.object({
  type: z.literal('completed'),
  size: offset,
  /** The MD5 when computed, else '' (kept for clients of before `checksums`). */
  md5: z.string().optional(),
  /** Every checksum the server computed, hex. */
  checksums: reportedChecksums.optional(),
  lines: z.number().int().min(0).nullable(),
});
export const SpoolAbortedSchema = z.object({ type: z.literal('aborted'), size: offset });
export const SpoolErrorSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  /** Present when one read request failed; the connection stays open. Absent: a close follows. */
  requestId: requestId.optional(),
});

export const SpoolUploadServerMessageSchema = z.discriminatedUnion('type', [
  SpoolReadySchema,
  SpoolDurableSchema,
  SpoolCompletedSchema,
  SpoolAbortedSchema,
  SpoolErrorSchema,
]);

// ---- resource path: client → server -------------------------------------------------

export const SpoolFollowSchema = z.object({ type: z.literal('follow'), from: offset }).strict();
export const SpoolUnfollowSchema = z.object({ type: z.literal('unfollow') }).strict();
export const SpoolReadRangeSchema = z.object({ type: z.literal('readRange'), requestId, start: offset, end: offset }).strict();
export const SpoolReadLinesSchema = z.object({ type: z.literal('readLines'), requestId, start: offset, count: offset }).strict();

export const SpoolResourceClientMessageSchema = z.discriminatedUnion('type', [
  SpoolFollowSchema,
  SpoolUnfollowSchema,
  SpoolReadRangeSchema,
  SpoolReadLinesSchema,
]);
export const SPOOL_RESOURCE_CLIENT_TYPES = ['follow', 'unfollow', 'readRange', 'readLines'] as const;

// ---- resource path: server → client -------------------------------------------------

export const SpoolStatusSchema = z.object({
  type: z.literal('status'),
  /** The resource's id: a connection opened by name learns it here (and reconnects by it). */
  id: z.string().optional(),
  state: state,
  /** The visible size: bytes [0, size) may be read. */
  size: offset,
  lines: z.number().int().min(0).nullable(),
  checksum: z.string().optional(),
  checksums: reportedChecksums.optional(),
  error: z.string().optional(),
});
/** Announces the next binary message: pushed bytes [offset, offset + length). */
export const SpoolDataSchema = z.object({ type: z.literal('data'), offset: offset, length: offset });
/** Announces the next binary message: the reply to `readRange` `requestId`, bytes [start, end). */
export const SpoolRangeSchema = z.object({ type: z.literal('range'), requestId, start: offset, end: offset });
export const SpoolLinesSchema = z.object({ type: z.literal('lines'), requestId, start: offset, lines: z.array(z.string()) });

export const SpoolResourceServerMessageSchema = z.discriminatedUnion('type', [
  SpoolStatusSchema,
  SpoolDataSchema,
  SpoolRangeSchema,
  SpoolLinesSchema,
  SpoolErrorSchema,
]);

export type SpoolCreate = z.infer<typeof SpoolCreateSchema>;
export type SpoolResume = z.infer<typeof SpoolResumeSchema>;
export type SpoolFinish = z.infer<typeof SpoolFinishSchema>;
export type SpoolAbort = z.infer<typeof SpoolAbortSchema>;
export type SpoolUploadClientMessage = z.infer<typeof SpoolUploadClientMessageSchema>;
export type SpoolReferences = z.infer<typeof SpoolReferencesSchema>;
export type SpoolReady = z.infer<typeof SpoolReadySchema>;
export type SpoolDurable = z.infer<typeof SpoolDurableSchema>;
export type SpoolCompleted = z.infer<typeof SpoolCompletedSchema>;
export type SpoolAborted = z.infer<typeof SpoolAbortedSchema>;
export type SpoolErrorMessage = z.infer<typeof SpoolErrorSchema>;
export type SpoolUploadServerMessage = z.infer<typeof SpoolUploadServerMessageSchema>;
export type SpoolFollow = z.infer<typeof SpoolFollowSchema>;
export type SpoolReadRange = z.infer<typeof SpoolReadRangeSchema>;
export type SpoolReadLines = z.infer<typeof SpoolReadLinesSchema>;
export type SpoolResourceClientMessage = z.infer<typeof SpoolResourceClientMessageSchema>;
export type SpoolStatus = z.infer<typeof SpoolStatusSchema>;
export type SpoolData = z.infer<typeof SpoolDataSchema>;
export type SpoolRange = z.infer<typeof SpoolRangeSchema>;
export type SpoolLines = z.infer<typeof SpoolLinesSchema>;
export type SpoolResourceServerMessage = z.infer<typeof SpoolResourceServerMessageSchema>;

export function toSpoolStatus(status: ResourceStatus): SpoolStatus {
  return {
    type: 'status',
    id: status.id,
    state: status.state,
    size: status.size,
    lines: status.lines,
    ...(status.checksum ? { checksum: status.checksum } : {}),
    ...(status.checksums && Object.keys(status.checksums).length > 0 ? { checksums: status.checksums } : {}),
    ...(status.error ? { error: status.error } : {}),
  };
}

/** The status a message carries; `id` is the resource's when the message does not say (older servers). */
export function fromSpoolStatus(id: string, message: SpoolStatus): ResourceStatus {
  return {
    id: message.id ?? id,
    state: message.state,
    size: message.size,
    lines: message.lines,
    ...(message.checksum ? { checksum: message.checksum } : {}),
    ...(message.checksums ? { checksums: knownChecksums(message.checksums) } : {}),
    ...(message.error ? { error: message.error } : {}),
  };
}

/** The checksums this version knows among those a server reported. */
export function knownChecksums(reported: Record<string, string>): Checksums {
  const out: Checksums = {};
  for (const name of CHECKSUM_ALGORITHMS) {
    const value = reported[name];
    if (value !== undefined) out[name] = value.toLowerCase();
  }
  return out;
}
