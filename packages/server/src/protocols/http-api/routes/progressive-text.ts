import { InvalidRangeError, isTerminal } from '@spool/common';
import type { Request, Response } from 'express';
import { copyToResponse } from '../../../transport/http/stream-copy.js';
import { setContentHeaders } from '../content-headers.js';
import { type HttpContext, loadResource, openBody } from '../context.js';

/**
 * `GET …/content?start=N` (or `?tail=N`: from the last N lines) — Jenkins' `progressiveText`
 * convention for CI log viewers: the bytes from N to the current visible end,
 * `X-Text-Size: <that end>` (the poller's next `start`), and `X-More-Data: true` while the
 * resource may still grow. A start past the visible end is 416 (`Content-Range: bytes *\/size`).
 * Text is gzip-compressed for clients that accept it (then without Content-Length).
 */
export async function progressiveText(ctx: HttpContext, req: Request, res: Response, id: string, start: number): Promise<void> {
  const { record, status } = await loadResource(ctx.core, id);
  const size = status.size;
  if (start > size) throw new InvalidRangeError(`start ${start} is past the ${size} bytes of resource ${id}`, { size });
  setContentHeaders(req, res, record, status);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Text-Size', String(size));
  if (!isTerminal(status.state)) res.setHeader('X-More-Data', 'true');
  res.setHeader('Content-Length', String(size - start));
  res.status(200);
  const body = openBody(ctx, req, res, record);
  if (req.method === 'HEAD' || size === start) {
    body.end();
    return;
  }
  try {
    await copyToResponse(await ctx.core.openRange(id, start, size), body.target);
    body.end();
  } catch (err) {
    ctx.logger.error('reading progressive text failed', { resourceId: id, error: (err as Error).message });
    body.abort();
  }
}
