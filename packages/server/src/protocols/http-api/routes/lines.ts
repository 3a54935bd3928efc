import { InvalidMessageError, isTerminal, LineAccessUnsupportedError, type ResourceStatus } from '@spool/common';
import type { Request, Response } from 'express';
import type { SpoolCore } from '../../../core/spool-core.js';
import { parseNonNegativeInteger, queryParam } from '../../../transport/http/request-params.js';
import { type HttpContext, loadResource, resourceIdOf, sendJson, setStatusHeaders } from '../context.js';

export const DEFAULT_LINE_COUNT = 100;
export const MAX_LINE_COUNT = 10_000;

/** A line without its terminator (`\n` or `\r\n`), decoded as UTF-8. */
export function lineText(line: Buffer): string {
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

/** `?start=`: a line index (0 = the first line); a negative one is what `tail` is for. */
export function parseLineStart(req: Request): number | undefined {
  const value = queryParam(req, 'start');
  if (value !== undefined && /^\s*-\d+\s*$/.test(value)) {
    throw new InvalidMessageError(
      `start is a line index counted from 0; for the last ${value.trim().slice(1)} lines use tail=${value.trim().slice(1)}`,
    );
  }
  return parseNonNegativeInteger(value, 'start');
}

/** `?tail=N`: the last N lines; it replaces `start`, so the two exclude each other. */
export function parseTail(req: Request, other: string): number | undefined {
  const tail = parseNonNegativeInteger(queryParam(req, 'tail'), 'tail');
  if (tail !== undefined && queryParam(req, other) !== undefined) {
    throw new InvalidMessageError(`tail and ${other} exclude each other: tail=N starts at the N-th line from the end`);
  }
  return tail;
}

/** The first line index of the last `tail` lines of a resource with `total` lines. */
export const tailStart = (total: number, tail: number): number => Math.max(0, total - tail);

/**
 * The byte offset where the last `tail` lines of resource `id` start (its line index
 * tells, in one lookup): what `?tail=N` of the content and of follow mode start from.
 * LINE_ACCESS_UNSUPPORTED without a line index.
 */
export async function tailOffset(core: SpoolCore, id: string, status: ResourceStatus, tail: number): Promise<number> {
  if (status.lines === null) throw new LineAccessUnsupportedError(id);
  return (await core.readLinePage(id, tailStart(status.lines, tail), 0)).startOffset;
}

/**
 * `GET /api/v1/resources/{ref}/lines?start=&count=[&format=json|text]` or `?tail=N` — the
 * page of lines `[start, start+count)` (line indexes count from 0) from the sparse line
 * index, so any page of a multi-GB log costs one index lookup and a scan of at most 256
 * lines; `tail=N` is the last N lines. Only lines within the visible bytes count (the
 * unterminated last line once the resource is terminal). A page holds the lines that
 * exist now: it is cut short, or empty, at the last line — never an error for reaching
 * past it (a growing resource may get there); `more` says whether lines follow or may
 * still come. Each page tells its byte offsets, to read or follow the bytes from there.
 */
export function readLinePage(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const tail = parseTail(req, 'start');
    const askedStart = parseLineStart(req) ?? 0;
    const count = parseNonNegativeInteger(queryParam(req, 'count'), 'count') ?? tail ?? DEFAULT_LINE_COUNT;
    if (count > MAX_LINE_COUNT) throw new InvalidMessageError(`count must be at most ${MAX_LINE_COUNT}, got ${count}`);
    if (tail !== undefined && tail > MAX_LINE_COUNT) throw new InvalidMessageError(`tail must be at most ${MAX_LINE_COUNT}, got ${tail}`);
    const text = wantsText(req);
    const id = await resourceIdOf(ctx, req);
    const { record, status } = await loadResource(ctx.core, id);
    if (!record.supportsLineAccess) throw new LineAccessUnsupportedError(id);
    const total = status.lines ?? 0;
    const start = tail === undefined ? askedStart : tailStart(total, tail);
    // Past the last line: an empty page at the end (where the next line will start).
    const first = Math.min(start, total);
    const page = await ctx.core.readLinePage(id, first, Math.min(count, total - first));
    const { lines } = page;
    const more = start + lines.length < total || !isTerminal(status.state);
    setStatusHeaders(res, status, record);
    res.setHeader('Cache-Control', 'no-store');
    res.vary('Accept');
    if (text) {
      res.setHeader('Spool-Lines-Start', String(start));
      res.setHeader('Spool-Lines-Count', String(lines.length));
      res.setHeader('Spool-Lines-Total', String(total));
      res.setHeader('Spool-Lines-Start-Offset', String(page.startOffset));
      res.setHeader('Spool-Lines-End-Offset', String(page.endOffset));
      res.status(200);
      await ctx.compression.send(req, res, Buffer.concat(lines), 'text/plain; charset=utf-8');
      return;
    }
    await sendJson(ctx, req, res, 200, {
      id,
      name: record.name,
      start,
      count: lines.length,
      totalLines: total,
      state: status.state,
      more,
      startOffset: page.startOffset,
      endOffset: page.endOffset,
      lines: lines.map(lineText),
    });
  };
}
