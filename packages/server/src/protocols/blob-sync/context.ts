import type { Readable } from 'node:stream';
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

/** A blob at most this large is read whole at once (its tag comes from the same read); larger ones are streamed. */
export const SMALL_BLOB_BYTES = 64 * 1024;

/** Reads `[start, end)` of a resource into one buffer: for a few bytes (a tag) or a small blob only. */
export async function readBytes(core: SpoolCore, resourceId: string, start: number, end: number): Promise<Buffer> {
  if (end === start) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of (await core.openRange(resourceId, start, end)) as Readable & AsyncIterable<Buffer>) chunks.push(chunk);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}
