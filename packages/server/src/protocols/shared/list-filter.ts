import { InvalidMessageError, TransferState } from '@spool/common';
import type { ListFilter } from '../../core/types.js';
import { parseNonNegativeInteger } from '../../transport/http/request-params.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

const STATES = new Set<string>(Object.values(TransferState));

const ORDERS = ['asc', 'desc'] as const;

/** The parameters of a listing, by name: `state`, `context`, `prefix`, `namePrefix`, `order`, `after`, `limit`. */
export type ListParam = (name: 'state' | 'context' | 'prefix' | 'namePrefix' | 'order' | 'after' | 'limit') => string | undefined;

/** One page of a listing as a request asks for it (state checked, limit within 1..MAX_PAGE_SIZE). */
export function listFilterOf(param: ListParam): ListFilter & { limit: number } {
  const state = param('state')?.toUpperCase();
  if (state !== undefined && !STATES.has(state)) {
    throw new InvalidMessageError(`state must be one of ${[...STATES].join(', ')}, got ${JSON.stringify(state)}`);
  }
  const limit = parseNonNegativeInteger(param('limit'), 'limit') ?? DEFAULT_PAGE_SIZE;
  if (limit < 1 || limit > MAX_PAGE_SIZE) throw new InvalidMessageError(`limit must be within 1..${MAX_PAGE_SIZE}, got ${limit}`);
  const order = param('order')?.toLowerCase() ?? 'asc';
  if (!(ORDERS as readonly string[]).includes(order)) {
    throw new InvalidMessageError(`order must be asc (oldest first) or desc (newest first), got ${JSON.stringify(order)}`);
  }
  return {
    state: state as TransferState | undefined,
    contextId: param('context'),
    filenamePrefix: param('prefix'),
    nameStartsWith: param('namePrefix'),
    order: order as (typeof ORDERS)[number],
    after: param('after'),
    limit,
  };
}
