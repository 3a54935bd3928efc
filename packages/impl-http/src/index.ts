// The rendezvous (pipe) client and the blob-sync client land here (issues 8 and 9).

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
