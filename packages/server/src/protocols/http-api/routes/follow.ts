import { InvalidRangeError, isTerminal, TransferState } from '@spool/common';
import type { Request, Response } from 'express';
import { copyToResponse } from '../../../transport/http/stream-copy.js';
import { StatusWatch } from '../../shared/status-watch.js';
import { setContentHeaders } from '../content-headers.js';
import type { HttpContext } from '../context.js';

/**
 * `GET /api/v1/resources/:id/content?follow=1[&start=N]` — `tail -f` over HTTP: a chunked
 * 200 that sends the bytes from N as they become visible and stays open. It ends cleanly
 * (terminating chunk) once the resource is COMPLETED and every byte is sent, and is
 * *aborted* (connection cut, no terminating chunk) when it is FAILED, so `curl` exits
 * with an error (18, "transfer closed with outstanding read data remaining").
 *
 * Memory per follower is O(1): it holds the newest status only and reads from storage
 * with core.openRange at its own pace (writes wait for 'drain'); status events only
 * wake it. A client that disconnects is unsubscribed at once.
 */
export async function followContent(ctx: HttpContext, req: Request<{ id: string }>, res: Response, start: number): Promise<void> {
  const id = req.params.id;
  const record = await ctx.core.getRecord(id);
  const watch = await StatusWatch.open(ctx.core, id);
  res.once('close', () => watch.close());
  try {
    let status = await watch.next();
    if (!status) return;
    if (isTerminal(status.state) && start > status.size) {
      throw new InvalidRangeError(`start ${start} is past the ${status.size} bytes of resource ${id}`, { size: status.size });
    }
    setContentHeaders(req, res, record, status);
    res.setHeader('Cache-Control', 'no-store');
    // Reverse proxies (nginx) must pass chunks on as they come instead of buffering them.
    res.setHeader('X-Accel-Buffering', 'no');
    res.status(200);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.flushHeaders();
    let position = start;
    for (;;) {
      if (position < status.size) {
        position += await copyToResponse(await ctx.core.openRange(id, position, status.size), res);
        if (res.destroyed) return;
      }
      if (status.state === TransferState.COMPLETED && position >= status.size) {
        res.end();
        return;
      }
      if (status.state === TransferState.FAILED) {
        ctx.logger.debug('follow aborted: resource FAILED', { resourceId: id, position });
        res.destroy();
        return;
      }
      const next = await watch.next();
      if (!next) return; // client gone
      status = next;
    }
  } finally {
    watch.close();
  }
}
