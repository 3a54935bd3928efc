import type { Logger } from 'winston';
import type { SpoolConfig } from '../../config/schema.js';
import type { SpoolCore } from '../../core/spool-core.js';
import type { BlobSpace } from './blob-space.js';
import type { BlobQuota } from './quota.js';

/** What every route of the blob API works with. */
export interface BlobContext {
  core: SpoolCore;
  config: SpoolConfig;
  logger: Logger;
  space: BlobSpace;
  quota: BlobQuota;
}

/**
 * A blob at most this large is read whole at once (its tag comes from the same read), and
 * in a stream upload collected whole and stored in one core call; larger ones are streamed.
 */
export const SMALL_BLOB_BYTES = 64 * 1024;
