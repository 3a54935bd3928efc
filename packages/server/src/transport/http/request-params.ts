import { InvalidMessageError } from '@spool/common';
import type { Request } from 'express';

/** A query parameter's value (the first one if repeated), or undefined. */
export function queryParam(req: Request, name: string): string | undefined {
  const value: unknown = (req.query as Record<string, unknown>)[name];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** A header's value (first if repeated), trimmed, or undefined. */
export function headerValue(req: Request, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.trim();
}

const TRUE = new Set(['', '1', 'true', 'yes', 'on', '?1']);
const FALSE = new Set(['0', 'false', 'no', 'off', '?0']);

/**
 * A boolean flag: `?follow`, `?follow=1|true|yes|on`, structured-field `?1`/`?0`
 * (RFC 8941, as in `Upload-Complete: ?1`); undefined if absent.
 */
export function parseFlag(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  const normalized = value.trim().toLowerCase();
  if (TRUE.has(normalized)) return true;
  if (FALSE.has(normalized)) return false;
  throw new InvalidMessageError(`${name} must be a boolean (1/0, true/false, ?1/?0), got ${JSON.stringify(value)}`);
}

/** A non-negative integer (offsets, counts); undefined if absent. */
export function parseNonNegativeInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const number = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(number)) {
    throw new InvalidMessageError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return number;
}

/**
 * Refuses a request with a query parameter outside `known` (400 INVALID_MESSAGE naming
 * it and what `what` takes): a misspelt `?folow=1` or `?order=desc` on a route that has
 * no order must not be silently ignored.
 */
export function refuseUnknownQueryParams(req: Request, known: ReadonlySet<string>, what: string): void {
  for (const name of Object.keys(req.query as Record<string, unknown>)) {
    if (known.has(name)) continue;
    const takes = [...known].filter((param) => param !== 'token');
    throw new InvalidMessageError(
      `Unknown query parameter ${JSON.stringify(name)}: ${what} takes ${takes.length > 0 ? takes.join(', ') : 'none'} (and token)`,
      { parameter: name },
    );
  }
}
