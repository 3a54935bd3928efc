import { type HspDataFormat, HspStatus, InvalidMessageError, InvalidRangeError, parseByteCount } from '@spool/common';
import { statusOf } from '../../../core/spool-core.js';
import { publicAccess, requires, requiresDecided } from '../../access-rule.js';
import { listFilterOf } from '../../shared/list-filter.js';
import { type LoadedResource, loadResource } from '../../shared/resource-view.js';
import type { HspRequest } from '../connection.js';
import { type HspContext, resourceJson } from '../context.js';
import type { HspRoute } from '../dispatcher.js';

/** The resource a request names: `x-resource-id` (a stream's key is its resource id). */
const RESOURCE_ID = 'x-resource-id';
/** Largest payload one packet can announce (its length is 32 bits). */
const MAX_ANSWER_BYTES = 0xffff_ffff;

const resourceIdOf = (request: HspRequest): string | undefined => request.headers.get(RESOURCE_ID);

/** The resource the request names (`x-resource-id`, required), loaded. */
function namedResource(ctx: HspContext, request: HspRequest): Promise<LoadedResource> {
  const id = resourceIdOf(request);
  if (!id) throw new InvalidMessageError(`Route ${request.route} needs the ${RESOURCE_ID} header`);
  return loadResource(ctx.core, id);
}

function optionalCount(request: HspRequest, name: string): number | undefined {
  const value = request.headers.get(name);
  return value === undefined ? undefined : parseByteCount(value, name);
}

/** How a resource's bytes are labelled: text and JSON as such, anything else bytes. */
function dataFormatOf(mimeType: string): HspDataFormat {
  const type = mimeType.toLowerCase();
  if (type.startsWith('text/')) return 'text:utf-8';
  if (type === 'application/json' || type.endsWith('+json')) return 'json:utf-8';
  return 'bytes';
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

/** `/ping`: answers `pong:` and the request's payload, in the request's data-format (the sheet's example). */
export const pingRoute: HspRoute = {
  access: publicAccess('liveness probe: echoes the payload'),
  async handle(request, exchange) {
    await exchange.reply(HspStatus.OK, {}, Buffer.concat([Buffer.from('pong:'), request.payload]), request.dataFormat);
  },
};

/** `/status`: a resource's metadata and current status as JSON. */
export function statusRoute(ctx: HspContext): HspRoute {
  return {
    access: requires('read', resourceIdOf),
    async handle(request, exchange) {
      const { record, status } = await namedResource(ctx, request);
      const headers = { 'x-state': status.state, 'x-size': String(status.size) };
      await exchange.reply(HspStatus.OK, headers, json(resourceJson(ctx, record, status)), 'json:utf-8');
    },
  };
}

/**
 * `/download`: bytes `[x-offset, x-offset + x-length)` of a resource (default: from 0 to
 * its visible size), streamed from storage as the client reads them. Only visible bytes:
 * a range past them is refused (129), never waited for — follow over WebSocket or HTTP.
 */
export function downloadRoute(ctx: HspContext): HspRoute {
  return {
    access: requires('read', resourceIdOf),
    async handle(request, exchange) {
      const { record, status } = await namedResource(ctx, request);
      const offset = optionalCount(request, 'x-offset') ?? 0;
      const length = optionalCount(request, 'x-length') ?? Math.max(0, status.size - offset);
      if (length > MAX_ANSWER_BYTES) {
        throw new InvalidRangeError(`At most ${MAX_ANSWER_BYTES} bytes fit one HSP answer: ask for a range (x-offset, x-length)`);
      }
      const source = await ctx.core.openRange(record.id, offset, offset + length);
      const headers = { 'x-offset': String(offset), 'x-size': String(status.size), 'x-state': status.state };
      await exchange.replyStreaming(headers, length, source, dataFormatOf(record.mimeType));
    },
  };
}

/** `/list`: one page of resources (`x-state`, `x-context`, `x-prefix`, `x-after`, `x-limit`), JSON. */
export function listRoute(ctx: HspContext): HspRoute {
  return {
    access: requiresDecided('list; read with `x-context`', (request: HspRequest) => ({
      permission: request.headers.has('x-context') ? 'read' : 'list',
    })),
    async handle(request, exchange) {
      const filter = listFilterOf((name) => request.headers.get(`x-${name}`));
      const records = await ctx.core.list(filter);
      const resources = records.map((record) => resourceJson(ctx, record, ctx.core.activeUpload(record.id)?.status ?? statusOf(record)));
      const last = records[records.length - 1];
      const nextAfter = records.length === filter.limit && last ? last.id : null;
      await exchange.reply(HspStatus.OK, nextAfter ? { 'x-next-after': nextAfter } : {}, json({ resources, nextAfter }), 'json:utf-8');
    },
  };
}
