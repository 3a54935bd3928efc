import { BLOB_FLAGS, ErrorCode, TransferState } from '@spool/common';
import type { Request, Response } from 'express';
import type { ResourceRecord } from '../../../core/types.js';
import { parseFlag, queryParam } from '../../../transport/http/request-params.js';
import { drainedOrClosed } from '../../../transport/http/stream-copy.js';
import { type BlobSpaceRef, blobSpaceOf, namespacePrefix } from '../blob-names.js';
import type { BlobContext } from '../context.js';
import { BlobError, invalidRequest } from '../errors.js';

/**
 * `order_by`: `date` / `+date` oldest first (also the default), `-date` newest first. An
 * unescaped `+date` arrives as ` date` (a query's `+` is a space): taken as meant.
 */
function orderOf(req: Request): 'asc' | 'desc' {
  const value = queryParam(req, 'order_by');
  if (value === undefined || value === 'date' || value === '+date' || value === ' date') return 'asc';
  if (value === '-date') return 'desc';
  throw invalidRequest(`order_by must be date, +date or -date, got ${JSON.stringify(value.slice(0, 40))}`);
}

function flagFilterOf(req: Request): string | undefined {
  const flag = queryParam(req, 'filter_flag');
  if (flag === undefined || (BLOB_FLAGS as readonly string[]).includes(flag)) return flag;
  throw new BlobError(406, 'InvalidFlag', ErrorCode.INVALID_MESSAGE, `filter_flag must be one of ${BLOB_FLAGS.join(', ')}`, {
    allowed: [...BLOB_FLAGS],
  });
}

/** The ids of a namespace's stored blobs, page by page through the catalog's name index. */
async function* blobIds(ctx: BlobContext, space: BlobSpaceRef, order: 'asc' | 'desc', flag: string | undefined): AsyncGenerator<string[]> {
  const prefix = namespacePrefix(space);
  const wanted = (record: ResourceRecord) =>
    record.state === TransferState.COMPLETED && (flag === undefined || ctx.space.flags(record).includes(flag as never));
  for await (const page of ctx.space.pages(space, order)) {
    yield page.filter(wanted).map((record) => (record.name as string).slice(prefix.length));
  }
}

/**
 * `GET <base>blobs/{user}/?namespace=&order_by=&only_count=&filter_flag=`: the ids of the
 * namespace's stored blobs as a JSON list (by creation date), or `{"count": N}`. Blobs
 * being uploaded are not listed yet. Written page by page: 10,000 blobs cost ten catalog
 * pages, never the whole list in memory.
 */
export function listBlobs(ctx: BlobContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const space = blobSpaceOf(req);
    const order = orderOf(req);
    const flag = flagFilterOf(req);
    res.setHeader('Cache-Control', 'no-store');
    if (parseFlag(queryParam(req, 'only_count'), 'only_count')) {
      let count = 0;
      for await (const ids of blobIds(ctx, space, order, flag)) count += ids.length;
      res.json({ count });
      return;
    }
    res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
    let first = true;
    for await (const ids of blobIds(ctx, space, order, flag)) {
      if (res.destroyed) return;
      if (ids.length === 0) continue;
      const text = `${first ? '[' : ','}${ids.map((id) => JSON.stringify(id)).join(',')}`;
      first = false;
      if (!res.write(text)) await drainedOrClosed(res, ctx.config.httpIdleTimeoutMs);
    }
    res.end(first ? '[]' : ']');
  };
}
