import { pipeline } from 'node:stream/promises';
import { InvalidRangeError, isTerminal } from '@spool/common';
import type { Request, Response } from 'express';
import { setContentHeaders } from '../content-headers.js';
import { type HttpContext, loadResource } from '../context.js';

/**
 * `GET /api/v1/resources/:id/content?start=N` — Jenkins' `progressiveText` convention for
 * CI log viewers: the bytes from N to the current visible end, `X-Text-Size: <that end>`
 * (the poller's next `start`), and `X-More-Data: true` while the resource may still grow.
 * A start past the visible end is 416 (`Content-Range: bytes *\/size`).
 */
export async function progressiveText(ctx: HttpContext, req: Request<{ id: string }>, res: Response, start: number): Promise<void> {
  const id = req.params.id;
  const { record, status } = await loadResource(ctx.core, id);
  const size = status.size;
  if (start > size) throw new InvalidRangeError(`start ${start} is past the ${size} bytes of resource ${id}`, { size });
  setContentHeaders(req, res, record, status);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Text-Size', String(size));
  if (!isTerminal(status.state)) res.setHeader('X-More-Data', 'true');
  res.setHeader('Content-Length', String(size - start));
  res.status(200);
  if (req.method === 'HEAD' || size === start) {
    res.end();
    return;
  }
  const source = await ctx.core.openRange(id, start, size);
  await pipeline(source, res).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    ctx.logger.error('reading progressive text failed', { resourceId: id, error: err.message });
  });
}
