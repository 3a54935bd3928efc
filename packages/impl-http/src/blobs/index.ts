export {
  BlobClient,
  type BlobClientOptions,
  type BlobData,
  type BlobListOptions,
  type BlobNamespaceOption,
  type BlobToPush,
  type PulledBlob,
} from './blob-client.js';
export type { BlobRetryOptions } from './retry.js';
