export { HspClient, type HspClientOptions, type HspListFilter, type HspResource } from './client.js';
export { type HspAnswer, HspConnection, type HspConnectionOptions } from './connection.js';
export { HspStatusError } from './errors.js';
export type { HspStreamReady, HspUploadOptions, HspUploadResult } from './upload.js';
export type { HspUploadSource } from './upload-source.js';
