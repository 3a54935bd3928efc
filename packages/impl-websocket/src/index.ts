// The public API of the WebSocket SDK: one import for clients, what they return, their
// options and the typed errors they throw. Nothing else: connection machinery, wire
// schemas and helpers stay internal (tests import them from their modules).

// Downloading: what a client opens and what it can do.
export {
  type DownloadClient,
  type DownloadSummary,
  type FollowLinesOptions,
  type FollowOptions,
  type OpenOptions,
  type ReadStreamRange,
  RemoteResource,
  type RemoteResourceOptions,
  type ResourceLocation,
  type TailLines,
  type WaitForStatusOptions,
} from '@spool/client-download';
// Uploading: clients, sources, what an upload tells.
export {
  type CompletableSource,
  type GrowingFile,
  type GrowingFileOptions,
  growingFile,
  type Upload,
  type UploadChunk,
  type UploadClient,
  type UploadProgress,
  type UploadReference,
  type UploadRequest,
  type UploadResult,
  type UploadSource,
} from '@spool/client-upload';
export type { ReconnectOptions } from '@spool/common';
// Statuses and typed errors (every error a client throws is a SpoolError with a stable code).
export {
  ChecksumMismatchError,
  ConnectionClosedError,
  ContextRequiredError,
  ErrorCode,
  ForbiddenError,
  InvalidMessageError,
  InvalidMetadataError,
  InvalidRangeError,
  isTerminal,
  LineAccessUnsupportedError,
  LinesOutOfRangeError,
  MessageTooLargeError,
  NameTakenError,
  OffsetMismatchError,
  ProtocolViolationError,
  QuotaExceededError,
  ResourceDeletedError,
  ResourceNotFoundError,
  type ResourceStatus,
  ResourceTerminalError,
  ShuttingDownError,
  SpoolError,
  StorageFailureError,
  TimeoutError,
  TransferState,
  UnauthorizedError,
  UploadAbortedError,
  UploadFailedError,
  WriterConflictError,
} from '@spool/common';
export type { WebSocketDownloadClientOptions, WebSocketUploadClientOptions } from './client-options.js';
export {
  createDownloadClient,
  createUploadClient,
  type DownloadClientFactoryOptions,
  type UploadClientFactoryOptions,
  type WebSocketProtocol,
} from './factories.js';
export { type WebSocketMaskingInfo, webSocketMaskingInfo } from './masking.js';
export { SpoolDownloadClient, type SpoolDownloadClientOptions } from './spool-download-client.js';
export type { SpoolFollowStream } from './spool-follow-stream.js';
export { SpoolRemoteResource, type SpoolRemoteResourceOptions } from './spool-remote-resource.js';
export type { SpoolUpload, SpoolUploadReference, SpoolUploadResult } from './spool-upload.js';
export { SpoolUploadClient, type SpoolUploadClientOptions } from './spool-upload-client.js';
export { StepDownloadClient, type StepDownloadClientOptions } from './step-download-client.js';
export type { StepUpload } from './step-upload.js';
export { StepUploadClient, type StepUploadClientOptions } from './step-upload-client.js';
