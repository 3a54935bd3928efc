import {
  type SpoolErrorMessage,
  type SpoolResourceServerMessage,
  SpoolResourceServerMessageSchema,
  type SpoolUploadServerMessage,
  SpoolUploadServerMessageSchema,
  StepDownloadServerMessageSchema,
  type StepLines,
  type StepReadyForUpload,
  type StepStatusChanged,
  type StepUploadAcknowledged,
  StepUploadServerMessageSchema,
} from '@spool/common';
import type { RawData } from 'ws';
import { rawDataToBuffer } from './web-socket-connection.js';

/** The text messages a server sends on one path: their schema (a zod schema from @spool/common) and their types. */
export interface ServerMessages<M> {
  schema: { safeParse(value: unknown): { success: true; data: M } | { success: false } };
  /** The field that names a message's type: `type` on Spool's protocol, `@` on Step's. */
  typeField: string;
  /** Every type the schema knows; messages of other types are ignored (a newer server may add some). */
  types: ReadonlySet<string>;
}

/**
 * A server's text message checked against `messages`, or undefined when there is none to
 * handle: a message of a type this client does not know is ignored (a newer server may
 * add types); one that is not JSON, or not what its type says, is reported to
 * `onViolation` (the connection is then ended as a protocol violation).
 */
export function parseServerMessage<M>(data: RawData, messages: ServerMessages<M>, onViolation: (reason: string) => void): M | undefined {
  let json: unknown;
  try {
    json = JSON.parse(rawDataToBuffer(data).toString('utf8'));
  } catch {
    onViolation('The server sent a text message that is not JSON');
    return undefined;
  }
  const parsed = messages.schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const type = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[messages.typeField] : undefined;
  if (typeof type !== 'string' || messages.types.has(type)) onViolation(`The server sent an invalid ${String(type ?? 'message')}`);
  return undefined;
}

/** What a Spool server sends on `/ws/spool/v1/upload`. */
export const UPLOAD_SERVER_MESSAGES: ServerMessages<SpoolUploadServerMessage | SpoolErrorMessage> = {
  schema: SpoolUploadServerMessageSchema,
  typeField: 'type',
  types: new Set(['ready', 'durable', 'completed', 'aborted', 'error']),
};

/** What a Spool server sends on `/ws/spool/v1/resources/{id}`. */
export const RESOURCE_SERVER_MESSAGES: ServerMessages<SpoolResourceServerMessage | SpoolErrorMessage> = {
  schema: SpoolResourceServerMessageSchema,
  typeField: 'type',
  types: new Set(['status', 'data', 'range', 'lines', 'error']),
};

export type StepUploadServerMessage = StepReadyForUpload | StepUploadAcknowledged;
export type StepDownloadServerMessage = StepStatusChanged | StepLines;

/** What a Step server sends on `/ws/streaming/upload`. */
export const STEP_UPLOAD_SERVER_MESSAGES: ServerMessages<StepUploadServerMessage> = {
  schema: StepUploadServerMessageSchema,
  typeField: '@',
  types: new Set(['ReadyForUpload', 'UploadAcknowledged']),
};

/** What a Step server sends on `/ws/streaming/download/{id}`. */
export const STEP_DOWNLOAD_SERVER_MESSAGES: ServerMessages<StepDownloadServerMessage> = {
  schema: StepDownloadServerMessageSchema,
  typeField: '@',
  types: new Set(['StatusChanged', 'Lines']),
};
