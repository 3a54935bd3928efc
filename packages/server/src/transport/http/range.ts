import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * `Range` request header parsing (RFC 9110 §14.1–14.2), single byte ranges only.
 *
 * - `none`: no Range header → 200 with the whole content.
 * - `ignored`: a header the RFC lets us ignore → also 200 with the whole content:
 *   syntactically invalid (`bytes=5-2`, `bytes=x`), another unit (`items=0-1`), or
 *   several ranges (`bytes=0-1,5-9`; answering multipart/byteranges is optional).
 * - `unsatisfiable`: → 416 with `Content-Range: bytes *\/size`.
 * - `satisfiable`: → 206 with `Content-Range: bytes start-end/size` (`end` inclusive).
 */
export type RangeRequest =
  | { kind: 'none' }
  | { kind: 'ignored'; reason: 'syntax' | 'unit' | 'multiple' }
  | { kind: 'unsatisfiable' }
  | { kind: 'satisfiable'; start: number; end: number };

const FIRST_LAST = /^(\d+)-(\d*)$/;
const SUFFIX = /^-(\d+)$/;

export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'none' };
  const equals = header.indexOf('=');
  if (equals === -1) return { kind: 'ignored', reason: 'syntax' };
  if (header.slice(0, equals).trim().toLowerCase() !== 'bytes') return { kind: 'ignored', reason: 'unit' };
  // RFC 9110 list syntax: elements separated by commas, empty elements allowed and ignored.
  const specs = header
    .slice(equals + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (specs.length === 0) return { kind: 'ignored', reason: 'syntax' };
  const parsed = specs.map((spec) => parseSpec(spec, size));
  if (parsed.some((r) => r === undefined)) return { kind: 'ignored', reason: 'syntax' };
  if (parsed.length > 1) return { kind: 'ignored', reason: 'multiple' };
  return parsed[0] as RangeRequest;
}

function parseSpec(spec: string, size: number): RangeRequest | undefined {
  const firstLast = FIRST_LAST.exec(spec);
  if (firstLast) {
    // Digits beyond 2^53 still compare correctly as (imprecise) numbers: huge first → unsatisfiable.
    const first = Number(firstLast[1]);
    const last = firstLast[2] === '' ? Number.POSITIVE_INFINITY : Number(firstLast[2]);
    if (last < first) return undefined;
    if (first >= size) return { kind: 'unsatisfiable' };
    return { kind: 'satisfiable', start: first, end: Math.min(last, size - 1) };
  }
  const suffix = SUFFIX.exec(spec);
  if (suffix) {
    const length = Number(suffix[1]);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'satisfiable', start: Math.max(0, size - length), end: size - 1 };
  }
  return undefined;
}

/**
 * Starts the answer to a GET/HEAD of content of `size` bytes under `range` (none or
 * ignored: 200, the whole; satisfiable: 206 with `Content-Range`; unsatisfiable ranges
 * are the caller's 416), with `Content-Length`. Ends it for HEAD or an empty body.
 * Returns the span `[first, end)` still to send, or undefined when nothing is.
 */
export function startRangeAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  range: RangeRequest,
  size: number,
): [number, number] | undefined {
  let first = 0;
  let end = size; // exclusive
  if (range.kind === 'satisfiable') {
    first = range.start;
    end = range.end + 1;
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
  } else {
    res.statusCode = 200;
  }
  res.setHeader('Content-Length', String(end - first));
  if (req.method === 'HEAD' || end === first) {
    res.end();
    return undefined;
  }
  return [first, end];
}
