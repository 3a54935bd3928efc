import { pipeline } from 'node:stream/promises';
import { InvalidRangeError, isTerminal, TransferState } from '@spool/common';
import type { Request, Response } from 'express';
import { ifRangeAllows, isNotModified, lastModifiedHeader, validatorsFor } from '../../../transport/http/conditional.js';
import { parseRange, type RangeRequest, startRangeAnswer } from '../../../transport/http/range.js';
import { parseFlag, parseNonNegativeInteger, queryParam } from '../../../transport/http/request-params.js';
import { reprDigest } from '../checksum.js';
import { setContentHeaders } from '../content-headers.js';
import { type HttpContext, loadResource, resourceIdOf } from '../context.js';
import { followContent } from './follow.js';
import { parseTail, tailOffset } from './lines.js';
import { progressiveText } from './progressive-text.js';

/**
 * `GET|HEAD /api/v1/resources/{ref}/content` and `/api/v1/names/{name}`: the visible
 * bytes, with RFC 9110 single byte ranges and validators. `?follow=1` → follow mode
 * (follow.ts); `?start=N` → Jenkins-style progressive text (progressive-text.ts);
 * `?tail=N` (instead of `start`) starts either at the last N lines.
 *
 * While the resource grows, the content is its visible (checkpointed) size at the moment
 * of the request; a 206's `Content-Range` total is that size, and a range starting at or
 * past it is 416 (`bytes *\/size`) — not yet there. The whole content and ranges are
 * never compressed: ranges count stored bytes, and a download keeps its length.
 */
export function readContent(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const follow = parseFlag(queryParam(req, 'follow'), 'follow') ?? false;
    const tail = parseTail(req, 'start');
    let start = parseNonNegativeInteger(queryParam(req, 'start'), 'start');
    const id = await resourceIdOf(ctx, req);
    if (tail !== undefined) start = await tailOffset(ctx.core, id, await ctx.core.getStatus(id), tail);
    if (follow) return followContent(ctx, req, res, id, start ?? 0);
    if (start !== undefined) return progressiveText(ctx, req, res, id, start);

    const { record, status } = await loadResource(ctx.core, id);
    const size = status.size;
    const completed = status.state === TransferState.COMPLETED;
    const validators = completed ? validatorsFor(record.id, status.checksum ?? record.checksum, record.completedAt) : undefined;
    const range: RangeRequest = ifRangeAllows(req, validators) ? parseRange(req.headers.range, size) : { kind: 'none' };
    if (range.kind === 'unsatisfiable') {
      const growing = !isTerminal(status.state);
      throw new InvalidRangeError(
        `Range ${req.headers.range} is not within the ${size} bytes of resource ${id}${growing ? ' visible so far' : ''}`,
        { size },
      );
    }

    setContentHeaders(req, res, record, status);
    res.setHeader('Accept-Ranges', 'bytes');
    if (validators) {
      // The whole resource's checksums (RFC 9530: of the representation, whatever range is sent).
      const digest = reprDigest(status.checksums ?? record.checksums);
      if (digest) res.setHeader('Repr-Digest', digest);
      res.setHeader('ETag', validators.etag);
      res.setHeader('Last-Modified', lastModifiedHeader(validators));
      // Immutable from now on, but it could be deleted one day: revalidate (a cheap 304).
      res.setHeader('Cache-Control', 'no-cache');
    } else {
      res.setHeader('Cache-Control', 'no-store');
    }
    if (isNotModified(req, validators)) {
      res.removeHeader('Content-Disposition');
      res.status(304).end();
      return;
    }

    const span = startRangeAnswer(req, res, range, size);
    if (!span) return;
    const source = await ctx.core.openRange(id, ...span);
    await pipeline(source, res).catch((err: NodeJS.ErrnoException) => {
      // A client that stops reading (a browser seeking elsewhere) is normal; a storage error is not.
      if (err.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      ctx.logger.error('reading content failed', { resourceId: id, error: err.message });
    });
  };
}
