import { InvalidMessageError, isTerminal, LineAccessUnsupportedError, LinesOutOfRangeError } from '@spool/common';
import type { Request, Response } from 'express';
import { parseNonNegativeInteger, queryParam } from '../../../transport/http/request-params.js';
import { type HttpContext, loadResource, setStatusHeaders } from '../context.js';

export const DEFAULT_LINE_COUNT = 100;
export const MAX_LINE_COUNT = 10_000;

/** A line without its terminator (`\n` or `\r\n`), decoded as UTF-8. */
function lineText(line: Buffer): string {
  let end = line.length;
  if (end > 0 && line[end - 1] === 10) end--;
  if (end > 0 && line[end - 1] === 13) end--;
  return line.toString('utf8', 0, end);
}

function wantsText(req: Request): boolean {
  const format = queryParam(req, 'format');
  if (format !== undefined) {
    if (format !== 'json' && format !== 'text') throw new InvalidMessageError(`format must be json or text, got ${JSON.stringify(format)}`);
    return format === 'text';
  }
  return req.accepts(['application/json', 'text/plain']) === 'text/plain';
}

/**
 * `GET /api/v1/resources/:id/lines?start=&count=[&format=json|text]` — the page of lines
 * `[start, start+count)` from the sparse line index, so any page of a multi-GB log costs
 * one index lookup and a scan of at most 256 lines. Only lines within the visible bytes
 * count (the unterminated last line once the resource is terminal). A page reaching past
 * the last line is cut short (`count` says how many came); a start past it is 416.
 */
export function readLinePage(ctx: HttpContext) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const id = req.params.id;
    const start = parseNonNegativeInteger(queryParam(req, 'start'), 'start') ?? 0;
    const count = parseNonNegativeInteger(queryParam(req, 'count'), 'count') ?? DEFAULT_LINE_COUNT;
    if (count > MAX_LINE_COUNT) throw new InvalidMessageError(`count must be at most ${MAX_LINE_COUNT}, got ${count}`);
    const text = wantsText(req);
    const { record, status } = await loadResource(ctx.core, id);
    if (!record.supportsLineAccess) throw new LineAccessUnsupportedError(id);
    const total = status.lines ?? 0;
    if (start > total) {
      throw new LinesOutOfRangeError(`Line ${start} is past the ${total} lines of resource ${id}`, { start, count, lines: total });
    }
    const lines = await ctx.core.readLines(id, start, Math.min(count, total - start));
    const more = start + lines.length < total || !isTerminal(status.state);
    setStatusHeaders(res, status);
    res.setHeader('Cache-Control', 'no-store');
    res.vary('Accept');
    if (text) {
      res.setHeader('Spool-Lines-Start', String(start));
      res.setHeader('Spool-Lines-Count', String(lines.length));
      res.setHeader('Spool-Lines-Total', String(total));
      res.type('text/plain; charset=utf-8').send(Buffer.concat(lines));
      return;
    }
    res.json({ id, start, count: lines.length, totalLines: total, state: status.state, more, lines: lines.map(lineText) });
  };
}
