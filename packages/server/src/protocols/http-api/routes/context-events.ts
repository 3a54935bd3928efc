import type { ResourceStatus } from '@spool/common';
import type { Request, Response } from 'express';
import type { HttpContext } from '../context.js';
import { keepEventStreamAlive, sseEvent, startEventStream, writeEvents } from './events.js';

/**
 * `GET /api/v1/contexts/:contextId/events` — the status of every resource of an upload
 * context as Server-Sent Events: each existing resource's current status first, then
 * every change, including resources created later. A context has no end, so neither has
 * the stream. A slow client gets the newest status per resource (memory: one status per
 * resource of the context, never a queue).
 */
export function contextEvents(ctx: HttpContext) {
  return async (req: Request<{ contextId: string }>, res: Response): Promise<void> => {
    const pending = new Map<string, ResourceStatus>();
    let wake: (() => void) | undefined;
    let closed = false;
    const unsubscribe = await ctx.core.subscribeContext(req.params.contextId, (status) => {
      // Delete first so a changed resource moves to the end: events stay in arrival order.
      pending.delete(status.id);
      pending.set(status.id, status);
      wake?.();
    });
    res.once('close', () => {
      closed = true;
      unsubscribe();
      wake?.();
    });
    // Flushed: a context without resources yet has nothing to send until the keepalive.
    const body = startEventStream(ctx, req, res);
    if (req.method === 'HEAD') {
      body.end();
      return;
    }
    const keepalive = keepEventStreamAlive(body, ctx.config.httpSseKeepaliveMs);
    try {
      while (!closed) {
        if (pending.size === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        const batch = [...pending.values()];
        pending.clear();
        await writeEvents(body, batch.map(sseEvent).join(''));
      }
    } finally {
      clearInterval(keepalive);
      unsubscribe();
    }
  };
}
