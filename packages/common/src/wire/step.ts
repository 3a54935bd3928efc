/**
 * The Step-compatible WebSocket protocol's messages, exactly as on the wire
 * (see docs/protocols/step-websocket.md). Control messages are JSON text frames whose
 * type is the property "@"; data travels as binary messages.
 */
import { z } from 'zod';
import type { ResourceStatus, TransferState } from '../status.js';

export const STEP_UPLOAD_PATH = '/ws/streaming/upload';
export const STEP_DOWNLOAD_PATH_PREFIX = '/ws/streaming/download/';
export const STEP_UPLOAD_CONTEXT_PARAM = 'streamingUploadContextId';
/** The close a Step upload client sends after UploadAcknowledged. */
export const STEP_UPLOAD_COMPLETED_REASON = 'Upload completed';
/**
 * Spool's extension, announced in the 101 answer of its Step upload path: the server
 * hashes every byte itself, so a FinishUpload may carry an empty checksum (nothing to
 * verify) and the client can skip hashing. Java Step servers do not send it.
 */
export const STEP_SERVER_CHECKSUM_HEADER = 'Spool-Server-Checksum';
export const STEP_SERVER_CHECKSUM_VALUE = 'md5';

export const StepStartUploadSchema = z.object({
  '@': z.literal('StartUpload'),
  metadata: z.object({ filename: z.string(), mimeType: z.string(), supportsLineAccess: z.boolean() }).loose(),
});
/** Longest part of a refused checksum echoed back (a text message may be a megabyte). */
const ECHOED_CHECKSUM_CHARS = 40;
/**
 * FinishUpload's checksum: the hex MD5 of the data (either case), or empty when the client
 * did not hash (see STEP_SERVER_CHECKSUM_HEADER). Anything else is a bad message, not a
 * mismatch: it could never match.
 */
const StepChecksumSchema = z.string().refine((value) => /^(?:[0-9a-fA-F]{32})?$/.test(value), {
  error: (issue) => {
    const value = String(issue.input);
    const shown = value.length > ECHOED_CHECKSUM_CHARS ? `${value.slice(0, ECHOED_CHECKSUM_CHARS)}…` : value;
    return `must be an MD5 (32 hex digits) or empty, not ${JSON.stringify(shown)}`;
  },
});
export const StepFinishUploadSchema = z.object({ '@': z.literal('FinishUpload'), checksum: StepChecksumSchema });
export const StepRequestChunkSchema = z.object({
  '@': z.literal('RequestChunk'),
  startOffset: z.number().int(),
  endOffset: z.number().int(),
});
export const StepRequestLinesSchema = z.object({
  '@': z.literal('RequestLines'),
  startingLineIndex: z.number().int(),
  linesCount: z.number().int(),
});
export const StepReadyForUploadSchema = z.object({ '@': z.literal('ReadyForUpload'), reference: z.object({ uri: z.string() }) });
export const StepUploadAcknowledgedSchema = z.object({
  '@': z.literal('UploadAcknowledged'),
  size: z.number(),
  checksum: z.string(),
  numberOfLines: z.number().nullable().optional(),
  numberOflines: z.number().nullable().optional(),
});
export const StepStatusChangedSchema = z.object({
  '@': z.literal('StatusChanged'),
  resourceStatus: z.object({
    transferStatus: z.enum(['INITIATED', 'IN_PROGRESS', 'COMPLETED', 'FAILED']),
    currentSize: z.number(),
    numberOfLines: z.number().nullable(),
  }),
});
export const StepLinesSchema = z.object({ '@': z.literal('Lines'), lines: z.array(z.string()) });

export type StepStartUpload = z.infer<typeof StepStartUploadSchema>;
export type StepFinishUpload = z.infer<typeof StepFinishUploadSchema>;
export type StepRequestChunk = z.infer<typeof StepRequestChunkSchema>;
export type StepRequestLines = z.infer<typeof StepRequestLinesSchema>;
export type StepReadyForUpload = z.infer<typeof StepReadyForUploadSchema>;
export type StepUploadAcknowledged = z.infer<typeof StepUploadAcknowledgedSchema>;
export type StepStatusChanged = z.infer<typeof StepStatusChangedSchema>;
export type StepLines = z.infer<typeof StepLinesSchema>;

/** Messages a Step upload client sends. */
export const StepUploadClientMessageSchema = z.discriminatedUnion('@', [StepStartUploadSchema, StepFinishUploadSchema]);
/** Messages a Step download client sends. */
export const StepDownloadClientMessageSchema = z.discriminatedUnion('@', [StepRequestChunkSchema, StepRequestLinesSchema]);
/** Messages the server sends on the upload path. */
export const StepUploadServerMessageSchema = z.discriminatedUnion('@', [StepReadyForUploadSchema, StepUploadAcknowledgedSchema]);
/** Messages the server sends on the download path. */
export const StepDownloadServerMessageSchema = z.discriminatedUnion('@', [StepStatusChangedSchema, StepLinesSchema]);

export function toStepStatusChanged(status: ResourceStatus): StepStatusChanged {
  return {
    '@': 'StatusChanged',
    resourceStatus: { transferStatus: status.state, currentSize: status.size, numberOfLines: status.lines },
  };
}

export function fromStepStatusChanged(id: string, msg: StepStatusChanged): ResourceStatus {
  return {
    id,
    state: msg.resourceStatus.transferStatus as TransferState,
    size: msg.resourceStatus.currentSize,
    lines: msg.resourceStatus.numberOfLines,
  };
}

/** The ack carries the line count under both spellings: Java reads `numberOflines`, Step's Node agent `numberOfLines`. */
export function toStepUploadAcknowledged(size: number, checksum: string, lines: number | null): StepUploadAcknowledged {
  return { '@': 'UploadAcknowledged', size, checksum, numberOfLines: lines, numberOflines: lines };
}

/** Extracts the resource id from a Step download URI (`ws://host/ws/streaming/download/<id>`). */
export function resourceIdFromStepUri(uri: string): string {
  const path = new URL(uri).pathname;
  const at = path.lastIndexOf(STEP_DOWNLOAD_PATH_PREFIX);
  if (at < 0) throw new Error(`Not a Step download URI: ${uri}`);
  return decodeURIComponent(path.slice(at + STEP_DOWNLOAD_PATH_PREFIX.length));
}
