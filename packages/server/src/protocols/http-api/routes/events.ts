import { isTerminal, type ResourceStatus } from '@spool/common';
import type { Request, Response } from 'express';
import type { BodyStream } from '../../../transport/http/compression.js';
import { drainedOrClosed } from '../../../transport/http/stream-copy.js';
import { StatusWatch } from '../../shared/status-watch.js';
import { type HttpContext, resourceIdOf } from '../context.js';
import { statusJson } from '../resource-json.js';

/** One `status` event. Only the terminal one carries an id: a browser reconnecting after it sends it back. */
export function sseEvent(status: ResourceStatus): string {
  const id = isTerminal(status.state) ? `id: ${status.state}\n` : '';
  return `event: status\n${id}data: ${JSON.stringify(statusJson(status))}\n\n`;
}

/**
 * The last event of a resource's stream, after its terminal status: the stream ends
 * because the resource did (COMPLETED or FAILED, as `data` says). A stream that stops
 * without it was cut (network, server shutdown): reconnect.
 */
export function sseEndEvent(status: ResourceStatus): string {
  return `event: end\ndata: ${JSON.stringify(statusJson(status))}\n\n`;
}

/**
 * Sends the head of an event stream at once: the first event or keepalive may be a long
 * way off, and a client (or proxy) waiting for the head may give up meanwhile. Returns
 * the body to write events to (gzip, flushed per event, for clients that accept it).
 */
export function startEventStream(ctx: HttpContext, req: Request, res: Response): BodyStream {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Accel-Buffering', 'no');
  const body = ctx.compression.open(req, res);
  res.flushHeaders();
  return body;
}

/** Writes events and pushes them out at once; resolves when the client can take more. */
export async function writeEvents(body: BodyStream, events: string): Promise<void> {
  const more = body.target.write(events);
  body.flush();
  if (!more) await drainedOrClosed(body.target);
}

/** Comment lines every `intervalMs` keep an idle stream open through proxies (skipped while the client lags). */
export function keepEventStreamAlive(body: BodyStream, intervalMs: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    if (body.target.destroyed || body.target.writableNeedDrain) return;
    body.target.write(': keepalive\n\n');
    body.flush();
  }, intervalMs);
  timer.unref();
  return timer;
}

/**
 * `GET /api/v1/resources/{ref}/events` — status as Server-Sent Events: the current status
 * first, then every change (a slow client gets the newest, never an older one, and
 * holds O(1) memory), the stream ending after the terminal status and an `end` event.
 * Comment lines keep idle connections alive through proxies.
 *
 * EventSource reconnects whenever a stream ends; a reconnect whose `Last-Event-ID` is the
 * terminal state the resource has is answered 204, which tells the browser to stop.
 */
export function statusEvents(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const watch = await StatusWatch.open(ctx.core, await resourceIdOf(ctx, req));
    res.once('close', () => watch.close());
    let keepalive: NodeJS.Timeout | undefined;
    try {
      let status = await watch.next();
      if (!status) return;
      if (isTerminal(status.state) && req.headers['last-event-id'] === status.state) {
        res.status(204).end();
        return;
      }
      const body = startEventStream(ctx, req, res);
      if (req.method === 'HEAD') {
        body.end();
        return;
      }
      keepalive = keepEventStreamAlive(body, ctx.config.httpSseKeepaliveMs);
      while (status) {
        if (isTerminal(status.state)) {
          await writeEvents(body, sseEvent(status) + sseEndEvent(status));
          body.end();
          return;
        }
        await writeEvents(body, sseEvent(status));
        status = await watch.next();
      }
    } finally {
      clearInterval(keepalive);
      watch.close();
    }
  };
}
