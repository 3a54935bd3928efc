import {
  ErrorCode,
  formatStream,
  HSP_HEADER,
  type HspDataFormat,
  HspStatus,
  InvalidMessageError,
  isTextLike,
  parseStreamRequest,
  QuotaExceededError,
  type ResourceMetadata,
  SpoolError,
} from '@spool/common';
import type { UploadSession } from '../../../core/upload-session.js';
import { parseFlag } from '../../../transport/http/request-params.js';
import { requiresDecided } from '../../access-rule.js';
import { validContextId } from '../../shared/upload-context.js';
import type { HspExchange, HspReplyHeaders, HspRequest, RawCut } from '../connection.js';
import type { HspContext } from '../context.js';
import type { HspRoute } from '../dispatcher.js';
import { hspErrorOf } from '../status-mapping.js';

/** The chunk size the server asks for, at most (a hint: the server reads whatever TCP brings). */
export const MAX_BUFSIZE = 1024 * 1024;

const MIME_TYPE_OF: Record<HspDataFormat, string> = {
  bytes: 'application/octet-stream',
  'text:utf-8': 'text/plain',
  'json:utf-8': 'application/json',
};
const EXTENSION_OF: Record<HspDataFormat, string> = { bytes: 'bin', 'text:utf-8': 'txt', 'json:utf-8': 'json' };

interface UploadDescription {
  metadata: ResourceMetadata;
  contextId: string | null;
  checksum: boolean;
}

/** The resource an upload creates, from its headers: `x-filename`, `x-mime-type`, `x-line-access`, `x-context`, `x-checksum`. */
function describeUpload(ctx: HspContext, request: HspRequest): UploadDescription {
  const { headers, dataFormat } = request;
  const mimeType = headers.get('x-mime-type') ?? MIME_TYPE_OF[dataFormat];
  const contextId = validContextId(headers.get('x-context'));
  if (ctx.config.requireUploadContext && !contextId) {
    throw new SpoolError(ErrorCode.CONTEXT_REQUIRED, 'This server requires an upload context (x-context)');
  }
  const checksum = headers.get('x-checksum') ?? 'none';
  if (checksum !== 'md5' && checksum !== 'none')
    throw new InvalidMessageError(`x-checksum must be md5 or none, got ${JSON.stringify(checksum)}`);
  return {
    metadata: {
      filename: headers.get('x-filename') ?? `hsp-upload.${EXTENSION_OF[dataFormat]}`,
      mimeType,
      supportsLineAccess: parseFlag(headers.get('x-line-access'), 'x-line-access') ?? (isTextLike(mimeType) || dataFormat === 'text:utf-8'),
    },
    contextId,
    checksum: checksum === 'md5',
  };
}

interface OpenedUpload {
  session: UploadSession;
  /** Headers naming the resource to whoever uploads: where to read it, the capability tokens issued with it. */
  names: Record<string, string>;
}

async function createUpload(ctx: HspContext, request: HspRequest, resumable: boolean): Promise<OpenedUpload> {
  const { metadata, contextId, checksum } = describeUpload(ctx, request);
  const capabilities = ctx.core.access.issueCapabilities();
  const session = await ctx.core.createUpload(metadata, {
    contextId,
    resumable,
    checksum,
    writeTokenHash: capabilities?.writeTokenHash,
    readTokenHash: capabilities?.readTokenHash,
  });
  ctx.logger.info('hsp upload created', { resourceId: session.id, filename: metadata.filename, contextId });
  return {
    session,
    names: {
      [HSP_HEADER.RESOURCE]: ctx.references(session.id, capabilities?.readToken).http,
      ...(capabilities ? { 'x-write-token': capabilities.writeToken, 'x-read-token': capabilities.readToken } : {}),
    },
  };
}

/**
 * `/upload`. A stream request (`x-stream`) creates a resource — or, with `x-stream-key`,
 * resumes one — and receives its bytes raw (docs/protocols/hsp.md); a plain packet's
 * payload becomes a whole resource at once. Creating needs `create`; resuming needs
 * `write` on the resource the key names (the key is the resource id: a stranger who
 * learns it still needs a token that may write that resource).
 */
export function uploadRoute(ctx: HspContext): HspRoute {
  return {
    access: requiresDecided('create; write of the stream `x-stream-key` names', (request: HspRequest) => {
      const key = request.headers.get(HSP_HEADER.STREAM_KEY);
      return key === undefined ? { permission: 'create' } : { permission: 'write', resourceId: key };
    }),
    streams: true,
    handle: (request, exchange) =>
      request.headers.has(HSP_HEADER.STREAM) ? streamUpload(ctx, request, exchange) : packetUpload(ctx, request, exchange),
  };
}

/** A plain packet to /upload: its payload is the whole resource, COMPLETED before the answer. */
async function packetUpload(ctx: HspContext, request: HspRequest, exchange: HspExchange): Promise<void> {
  if (request.headers.has(HSP_HEADER.STREAM_KEY)) throw new InvalidMessageError('x-stream-key belongs in a stream request (with x-stream)');
  const { session, names } = await createUpload(ctx, request, false);
  session.on('error', () => undefined); // storage failures reach us through write/finish
  let status: Awaited<ReturnType<UploadSession['finish']>>;
  try {
    session.write(request.payload);
    status = await session.finish();
  } catch (err) {
    await session.fail(hspErrorOf(err).message).catch(() => undefined);
    throw err;
  }
  const headers = {
    ...names,
    'x-resource-id': session.id,
    'x-size': String(status.size),
    ...(status.checksum ? { 'x-md5': status.checksum } : {}),
  };
  await exchange.reply(HspStatus.OK, headers, JSON.stringify(status), 'json:utf-8');
}

/**
 * A stream request, the sheet's four steps: (1) the request, `x-stream: <total>:<bufsize>`;
 * (2) our answer, status 1, `x-stream: <accept>:<bufsize>`, the key, the durable offset to
 * continue from; (3) the client's raw bytes, `total - offset` of them (or `accept` when
 * the server can take only that many); (4) the final packet, `x-stream: <missing>:0`.
 */
async function streamUpload(ctx: HspContext, request: HspRequest, exchange: HspExchange): Promise<void> {
  if (request.payload.length > 0) throw new InvalidMessageError('A stream request has an empty payload: its bytes follow the answer');
  const { total, bufsize } = parseStreamRequest(request.headers.get(HSP_HEADER.STREAM) ?? '');
  const key = request.headers.get(HSP_HEADER.STREAM_KEY);
  let opened: OpenedUpload;
  if (key === undefined) {
    opened = await createUpload(ctx, request, true);
  } else {
    await ctx.streams.takeOver(key);
    opened = { session: await ctx.core.resumeUpload(key), names: { [HSP_HEADER.RESOURCE]: ctx.references(key).http } };
    ctx.logger.info('hsp upload resumed', { resourceId: key, offset: opened.session.status.size });
  }
  const { session, names } = opened;
  session.on('error', () => undefined); // storage failures reach us through write/finish/release
  const release = ctx.streams.add(session.id, exchange);
  try {
    await receiveStream(ctx, exchange, session, names, request.dataFormat, total, bufsize, release);
  } finally {
    if (session.isOpen) await session.release().catch(() => undefined);
    release();
  }
}

async function receiveStream(
  ctx: HspContext,
  exchange: HspExchange,
  session: UploadSession,
  names: Record<string, string>,
  dataFormat: HspDataFormat,
  total: number,
  bufsize: number,
  release: () => void,
): Promise<void> {
  const offset = session.status.size;
  if (total < offset) {
    throw new InvalidMessageError(`Stream ${session.id} already holds ${offset} bytes, more than the x-stream total of ${total}`);
  }
  const remaining = total - offset;
  const { maxResourceBytes } = ctx.config;
  const room = maxResourceBytes > 0 ? maxResourceBytes - offset : Number.POSITIVE_INFINITY;
  if (remaining > 0 && room <= 0) {
    throw new QuotaExceededError(`Stream ${session.id} holds ${offset} bytes, the most a resource may (maxResourceBytes)`);
  }
  const accept = remaining <= room ? 0 : room;
  const key = { [HSP_HEADER.STREAM_KEY]: session.id };
  await exchange.reply(
    HspStatus.RECEIVED,
    {
      [HSP_HEADER.STREAM]: formatStream(accept, Math.min(bufsize, MAX_BUFSIZE)),
      ...key,
      [HSP_HEADER.STREAM_OFFSET]: String(offset),
      ...names,
    },
    Buffer.alloc(0),
    dataFormat,
  );
  const end = await exchange.receiveRaw(accept === 0 ? remaining : accept, session);
  // Every way this ends settles the writer first, so a resume waiting for it goes on at once.
  const final = (status: HspStatus, headers: HspReplyHeaders, reason = '') => {
    release();
    const missing = total - session.status.size;
    const finalHeaders = { [HSP_HEADER.STREAM]: formatStream(missing, 0), ...key, ...names, ...headers };
    return exchange.reply(status, finalHeaders, reason, reason ? 'text:utf-8' : dataFormat);
  };
  if (end.cut) {
    const { status, error, message } = await settleCut(session, end.cut, total);
    ctx.logger.info('hsp stream cut', {
      resourceId: session.id,
      received: end.received,
      reason: end.cut.reason,
      state: session.status.state,
    });
    if (end.cut.reason !== 'closed') {
      await final(status, { [HSP_HEADER.STREAM_OFFSET]: String(session.status.size), 'x-error': error }, message).catch(() => undefined);
    }
    exchange.close();
    return;
  }
  if (accept > 0) {
    const reason = `The server takes at most ${maxResourceBytes} bytes per resource (maxResourceBytes): ${total - maxResourceBytes} bytes of the stream were refused`;
    await session.fail(`Truncated: ${reason}`);
    await final(HspStatus.TOO_LARGE, { 'x-error': ErrorCode.QUOTA_EXCEEDED }, reason);
    return;
  }
  let status: Awaited<ReturnType<UploadSession['finish']>>;
  try {
    status = await session.finish();
  } catch (err) {
    const error = hspErrorOf(err);
    await final(error.status, { 'x-error': error.code }, error.message);
    exchange.close();
    return;
  }
  ctx.logger.info('hsp upload completed', { resourceId: session.id, size: status.size });
  await final(HspStatus.OK, { 'x-size': String(status.size), ...(status.checksum ? { 'x-md5': status.checksum } : {}) });
}

/**
 * A stream that stopped short: the writer is released (the resource stays IN_PROGRESS,
 * resumable from its durable offset) unless storage failed, which FAILED it.
 */
async function settleCut(
  session: UploadSession,
  cut: RawCut,
  total: number,
): Promise<{ status: HspStatus; error: ErrorCode; message: string }> {
  if (cut.reason === 'failed') {
    const error = hspErrorOf(cut.error);
    await session.fail(error.message).catch(() => undefined);
    return { status: error.status, error: error.code, message: error.message };
  }
  await session.release().catch(async (err: unknown) => {
    await session.fail(hspErrorOf(err).message).catch(() => undefined);
  });
  const short = `${total - session.status.size} bytes short; resume with x-stream-key`;
  switch (cut.reason) {
    case 'shutdown':
      return { status: HspStatus.UNAVAILABLE, error: ErrorCode.SHUTTING_DOWN, message: `Server shutting down: the stream is ${short}` };
    case 'takeover':
      return { status: HspStatus.CONFLICT, error: ErrorCode.WRITER_CONFLICT, message: 'Another connection resumed this stream' };
    case 'idle':
      return {
        status: HspStatus.INVALID,
        error: ErrorCode.TIMEOUT,
        message: `No bytes for too long (hspIdleTimeoutMs): the stream is ${short}`,
      };
    default:
      return { status: HspStatus.INVALID, error: ErrorCode.CONNECTION_CLOSED, message: `Connection ended: the stream is ${short}` };
  }
}
