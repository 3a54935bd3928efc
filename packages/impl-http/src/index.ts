// The rendezvous (pipe) client and the blob-sync client.

export {
  BlobClient,
  type BlobClientOptions,
  type BlobData,
  type BlobListOptions,
  type BlobNamespaceOption,
  type BlobToPush,
  type PulledBlob,
} from './blobs/blob-client.js';
export type { BlobRetryOptions } from './blobs/retry.js';
export {
  RendezvousClient,
  type RendezvousClientOptions,
  type RendezvousData,
  RendezvousError,
  type RendezvousStreamInfo,
  type ReportedError,
} from './rendezvous/rendezvous-client.js';
