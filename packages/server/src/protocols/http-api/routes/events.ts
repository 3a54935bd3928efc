import { isTerminal, type ResourceStatus } from '@spool/common';
import type { Request, Response } from 'express';
import { drainedOrClosed } from '../../../transport/http/stream-copy.js';
import { StatusWatch } from '../../shared/status-watch.js';
import type { HttpContext } from '../context.js';
import { statusJson } from '../resource-json.js';

/** One `status` event. Only the terminal one carries an id: a browser reconnecting after it sends it back. */
export function sseEvent(status: ResourceStatus): string {
  const id = isTerminal(status.state) ? `id: ${status.state}\n` : '';
  return `event: status\n${id}data: ${JSON.stringify(statusJson(status))}\n\n`;
}

/**
 * Sends the head of an event stream at once: the first event or keepalive may be a long
 * way off, and a client (or proxy) waiting for the head may give up meanwhile.
 */
export function startEventStream(res: Response): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
}

/** Comment lines every `intervalMs` keep an idle stream open through proxies (skipped while the client lags). */
export function keepEventStreamAlive(res: Response, intervalMs: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    if (!res.writableNeedDrain) res.write(': keepalive\n\n');
  }, intervalMs);
  timer.unref();
  return timer;
}

/**
 * `GET /api/v1/resources/:id/events` — status as Server-Sent Events: the current status
 * first, then every change (a slow client gets the newest, never an older one, and
 * holds O(1) memory), the stream ending after the terminal status. Comment lines keep
 * idle connections alive through proxies.
 *
 * EventSource reconnects whenever a stream ends; a reconnect whose `Last-Event-ID` is the
 * terminal state the resource has is answered 204, which tells the browser to stop.
 */
export function statusEvents(ctx: HttpContext) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const watch = await StatusWatch.open(ctx.core, req.params.id);
    res.once('close', () => watch.close());
    let keepalive: NodeJS.Timeout | undefined;
    try {
      let status = await watch.next();
      if (!status) return;
      if (isTerminal(status.state) && req.headers['last-event-id'] === status.state) {
        res.status(204).end();
        return;
      }
      startEventStream(res);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      keepalive = keepEventStreamAlive(res, ctx.config.httpSseKeepaliveMs);
      while (status) {
        const more = res.write(sseEvent(status));
        if (isTerminal(status.state)) {
          res.end();
          return;
        }
        if (!more) await drainedOrClosed(res);
        status = await watch.next();
      }
    } finally {
      clearInterval(keepalive);
      watch.close();
    }
  };
}
