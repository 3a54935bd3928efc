import {
  type SpoolResourceServerMessage,
  SpoolResourceServerMessageSchema,
  type SpoolUploadServerMessage,
  SpoolUploadServerMessageSchema,
} from '@spool/common';
import type { SpoolServerMessages } from './spool-socket.js';

/** What the server sends on `/ws/spool/v1/upload`. */
export const UPLOAD_SERVER_MESSAGES: SpoolServerMessages<SpoolUploadServerMessage> = {
  schema: SpoolUploadServerMessageSchema,
  types: new Set(['ready', 'durable', 'completed', 'aborted', 'error']),
};

/** What the server sends on `/ws/spool/v1/resources/{id}`. */
export const RESOURCE_SERVER_MESSAGES: SpoolServerMessages<SpoolResourceServerMessage> = {
  schema: SpoolResourceServerMessageSchema,
  types: new Set(['status', 'data', 'range', 'lines', 'error']),
};
