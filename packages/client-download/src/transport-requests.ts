import { InvalidRangeError, LinesOutOfRangeError, ProtocolViolationError, type ResourceStatus, TimeoutError } from '@spool/common';
import { settleAfter, settleOnce } from './settle-once.js';
import type { DownloadTransport } from './transport.js';

/** The error for malformed byte range arguments (not safe integers, negative, end before start); undefined when well formed. */
export function malformedByteRange(start: number, end: number, details: Record<string, unknown> = {}): InvalidRangeError | undefined {
  if (Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end >= start) return undefined;
  return new InvalidRangeError(`Invalid byte range [${start}, ${end})`, { start, end, ...details });
}

/** The error for malformed line range arguments (not safe integers, negative); undefined when well formed. */
export function malformedLineRange(start: number, count: number): LinesOutOfRangeError | undefined {
  if (Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 0) return undefined;
  return new LinesOutOfRangeError(`Invalid line range: start ${start}, count ${count}`, { start, count });
}

/** The error for a reply to a request for bytes [start, end) of `resourceId` that is not end − start bytes long. */
export function wrongChunkLength(resourceId: string, start: number, end: number, received: number): ProtocolViolationError {
  return new ProtocolViolationError(`Asked for bytes [${start}, ${end}) of ${resourceId}, got ${received} bytes`, { start, end, received });
}

/**
 * {@link DownloadTransport.requestChunk} as every transport answers it before asking its
 * server: malformed arguments reject with InvalidRangeError, an empty range resolves with
 * no bytes; any other range is `fetch`ed.
 */
export function requestChunkChecked(start: number, end: number, fetch: () => Promise<Buffer>): Promise<Buffer> {
  const malformed = malformedByteRange(start, end);
  if (malformed) return Promise.reject(malformed);
  if (start === end) return Promise.resolve(Buffer.alloc(0));
  return fetch();
}

/**
 * {@link DownloadTransport.requestLines} as every transport answers it before asking its
 * server: malformed arguments reject with LinesOutOfRangeError, a count of 0 resolves with
 * no lines; any other request is `fetch`ed.
 */
export function requestLinesChecked(start: number, count: number, fetch: () => Promise<string[]>): Promise<string[]> {
  const malformed = malformedLineRange(start, count);
  if (malformed) return Promise.reject(malformed);
  if (count === 0) return Promise.resolve([]);
  return fetch();
}

/** Resolves with the transport's first status (the one it has, if any); rejects if its connection ends first or after `timeoutMs`. */
export function firstStatus(
  transport: Pick<DownloadTransport, 'resourceId' | 'onStatus' | 'onClose'>,
  timeoutMs: number,
): Promise<ResourceStatus> {
  return settleOnce<ResourceStatus>((settle, register) => {
    register(transport.onStatus(settle));
    register(transport.onClose(settle));
    settleAfter(
      timeoutMs,
      settle,
      register,
      () => new TimeoutError(`No status for resource ${transport.resourceId} within ${timeoutMs} ms`),
    );
  });
}
