import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long an error answer waits for the rest of an unwanted request body before closing. */
export const LINGER_MS = 2_000;

/**
 * Sends a complete answer (headers with Content-Length, and `payload`) while the client is
 * still sending a body we will not read, then keeps discarding that body until it ends
 * or LINGER_MS pass, and only then closes (the answer says `Connection: close`). Closing
 * at once, with the client's bytes unread, makes the kernel send a reset that can
 * destroy the answer before the client reads it (nginx's "lingering close").
 */
export function lingerThenEnd(req: IncomingMessage, res: ServerResponse, payload: Buffer): void {
  res.write(payload);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    req.off('end', end);
    res.end();
  };
  const timer = setTimeout(end, LINGER_MS);
  timer.unref();
  req.once('end', end);
  res.once('close', () => clearTimeout(timer));
  req.unpipe();
  req.resume();
}
