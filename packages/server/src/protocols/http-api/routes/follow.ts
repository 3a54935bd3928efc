import { Readable } from 'node:stream';
import { InvalidRangeError, isTerminal, TransferState } from '@spool/common';
import type { Request, Response } from 'express';
import { CatchUpPace } from '../../../core/catch-up-reads.js';
import { copyToResponse } from '../../../transport/http/stream-copy.js';
import { StatusWatch } from '../../shared/status-watch.js';
import { setContentHeaders } from '../content-headers.js';
import { type HttpContext, openBody } from '../context.js';

/** Declared on every follow answer; sent (`COMPLETED`) only by one that ends cleanly. */
export const FOLLOW_TRAILER = 'Spool-State';

/**
 * `GET …/content?follow=1[&start=N | &tail=N]` — `tail -f` over HTTP: a chunked 200 that
 * sends the bytes from N as they become visible and stays open. It ends cleanly
 * (terminating chunk, trailer `Spool-State: COMPLETED`) once the resource is COMPLETED
 * and every byte is sent, and is *aborted* (connection cut, no terminating chunk, no
 * trailer) when it is FAILED, so `curl` exits with an error (18, "transfer closed with
 * outstanding read data remaining"); a script tells FAILED from a dropped connection by
 * the resource's state (`curl -I`: `Spool-State`), see docs/protocols/http.md.
 *
 * Memory per follower is O(1): it holds the newest status only and reads from storage
 * with core.openCatchUp at its own pace (writes wait for 'drain'; reads behind the tail
 * scheduled after ingest, in pieces within the shared budget); status events only
 * wake it. A client that disconnects is unsubscribed at once. Text is gzip-compressed
 * for clients that accept it, flushed after every push so latency stays.
 */
export async function followContent(ctx: HttpContext, req: Request, res: Response, id: string, start: number): Promise<void> {
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
    res.setHeader('Trailer', FOLLOW_TRAILER);
    res.status(200);
    const body = openBody(ctx, req, res, record);
    if (req.method === 'HEAD') {
      body.end();
      return;
    }
    res.flushHeaders();
    let position = start;
    const pace = new CatchUpPace();
    for (;;) {
      if (position < status.size) {
        // One piece buffered at most (the budget counts pieces held).
        const pieces = Readable.from(await ctx.core.openCatchUp(id, position, status.size, pace), { highWaterMark: 1 });
        position += await copyToResponse(pieces, body.target);
        if (body.target.destroyed || res.destroyed) return;
        body.flush();
      }
      if (status.state === TransferState.COMPLETED && position >= status.size) {
        body.end({ [FOLLOW_TRAILER]: status.state });
        return;
      }
      if (status.state === TransferState.FAILED) {
        ctx.logger.debug('follow aborted: resource FAILED', { resourceId: id, position });
        body.abort();
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
