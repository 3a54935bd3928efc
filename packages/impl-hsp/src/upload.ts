import { setTimeout as sleep } from 'node:timers/promises';
import {
  Backoff,
  ConnectionClosedError,
  ErrorCode,
  encodePacket,
  HSP_HEADER,
  type HspDataFormat,
  HspStatus,
  InvalidMessageError,
  parseByteCount,
  parseStreamAnswer,
  type ReconnectOptions,
  resolveReconnectOptions,
  SpoolError,
  TimeoutError,
  toSpoolError,
} from '@spool/common';
import { type HspAnswer, HspConnection, type HspConnectionOptions } from './connection.js';
import { errorOfAnswer, HspStatusError } from './errors.js';
import { type HspUploadSource, readerOf, type SourceReader, sizeOf } from './upload-source.js';

export interface HspUploadOptions {
  /** Bytes the stream will send: required for a function or iterable source (a file's or a buffer's by default). */
  size?: number;
  /** The resource's metadata (defaults: `hsp-upload.<bin|txt|json>`, the data format's type, line access for text). */
  filename?: string;
  mimeType?: string;
  lineAccess?: boolean;
  /** Upload context the resource joins. */
  context?: string;
  /** `bytes` (default), `text:utf-8` or `json:utf-8`. */
  dataFormat?: HspDataFormat;
  /** Have the server compute the MD5 (returned as `md5`); off by default (it costs the server a core at high rates). */
  md5?: boolean;
  /** Chunk size offered to the server (default 1 MiB; the server may ask for less). */
  bufsize?: number;
  /** How a lost connection is retried (resumed by key from the server's durable offset). */
  reconnect?: ReconnectOptions;
  /** For an iterable source read once: newest bytes kept to replay after a cut (default 64 MiB). */
  replayBytes?: number;
  /** Longest wait for the final answer once every byte is sent (default 5 min: a resumed stream is re-hashed for its MD5). */
  finishTimeoutMs?: number;
  /** Called once, when the server accepted the stream: readers can follow `resource` from now on. */
  onReady?: (ready: HspStreamReady) => void;
}

/** What the server says when it accepts a new stream. */
export interface HspStreamReady {
  /** The stream key, which is the resource id. */
  key: string;
  /** Where the resource is read (HTTP; with `?token=` when access control issued a read token). */
  resource: string;
  /** Capability tokens of the new resource, when access control is on. */
  writeToken?: string;
  readToken?: string;
}

export interface HspUploadResult extends HspStreamReady {
  size: number;
  /** The server's MD5, when asked for (`md5: true`) or recomputed after a resume. */
  md5?: string;
  /** Times the stream was resumed (by key, from the server's durable offset) after a lost connection. */
  resumes: number;
}

const DEFAULT_BUFSIZE = 1024 * 1024;
const DEFAULT_REPLAY_BYTES = 64 * 1024 * 1024;
const DEFAULT_FINISH_TIMEOUT_MS = 300_000;

/** Errors after which the stream is resumed: the connection, not the request, failed. */
function retryable(err: SpoolError, retryOnServerShutdown: boolean): boolean {
  if (err instanceof HspStatusError) {
    return (
      err.code === ErrorCode.TIMEOUT ||
      err.code === ErrorCode.CONNECTION_CLOSED ||
      (err.code === ErrorCode.SHUTTING_DOWN && retryOnServerShutdown) ||
      // Refused at step 2 because another writer holds it (an HTTP append, a connection closing): wait and retry.
      (err.code === ErrorCode.WRITER_CONFLICT && err.details?.step === 'request') ||
      // The server is at its connection limit.
      err.details?.serverCode === 'SERVER_BUSY'
    );
  }
  return err.code === ErrorCode.CONNECTION_CLOSED || err.code === ErrorCode.TIMEOUT;
}

/**
 * Sends `source` as one HSP stream request to `/upload` (docs/protocols/hsp.md), resuming
 * by key after a lost connection: the server answers the resume with its durable offset,
 * and the rest is sent from there — nothing missing, nothing twice.
 */
export class HspStreamUpload {
  private ready: HspStreamReady | undefined;
  private resumes = 0;
  private readonly options: HspUploadOptions;

  constructor(
    private readonly connection: HspConnectionOptions,
    private readonly auth: string | undefined,
    options: HspUploadOptions,
  ) {
    this.options = options;
  }

  async run(source: HspUploadSource): Promise<HspUploadResult> {
    const total = await sizeOf(source, this.options.size);
    const bufsize = this.options.bufsize ?? DEFAULT_BUFSIZE;
    if (!Number.isSafeInteger(bufsize) || bufsize < 1) throw new InvalidMessageError(`bufsize must be at least 1 byte, got ${bufsize}`);
    const reader = readerOf(source, bufsize, this.options.replayBytes ?? DEFAULT_REPLAY_BYTES);
    const policy = resolveReconnectOptions(this.options.reconnect);
    let backoff = new Backoff(policy);
    for (;;) {
      const before = this.offsetHint;
      try {
        return await this.attempt(reader, total, bufsize);
      } catch (err) {
        const error = toSpoolError(err);
        if (!retryable(error, policy.retryOnServerShutdown)) throw error;
        // Progress since the last loss: a new outage gets the whole retry budget again.
        if (this.offsetHint > before) backoff = new Backoff(policy);
        const delay = backoff.nextDelayMs();
        if (delay === undefined) throw error;
        await sleep(delay);
      }
    }
  }

  /** The offset the last attempt started from (progress detection between attempts). */
  private offsetHint = 0;

  private headers(total: number, bufsize: number): Record<string, string> {
    const o = this.options;
    const headers: Record<string, string> = {
      [HSP_HEADER.ROUTE]: '/upload',
      [HSP_HEADER.DATA_FORMAT]: o.dataFormat ?? 'bytes',
      [HSP_HEADER.STREAM]: `${total}:${bufsize}`,
    };
    if (this.auth) headers[HSP_HEADER.AUTH] = this.auth;
    if (this.ready) {
      headers[HSP_HEADER.STREAM_KEY] = this.ready.key;
      return headers;
    }
    if (o.filename !== undefined) headers['x-filename'] = o.filename;
    if (o.mimeType !== undefined) headers['x-mime-type'] = o.mimeType;
    if (o.lineAccess !== undefined) headers['x-line-access'] = String(o.lineAccess);
    if (o.context !== undefined) headers['x-context'] = o.context;
    if (o.md5) headers['x-checksum'] = 'md5';
    return headers;
  }

  private async attempt(reader: SourceReader, total: number, bufsize: number): Promise<HspUploadResult> {
    const conn = await HspConnection.connect(this.connection);
    try {
      const resuming = this.ready !== undefined;
      await conn.send(encodePacket(this.headers(total, bufsize)));
      const answer = await conn.nextAnswer();
      if (answer.status !== HspStatus.RECEIVED) return await this.refused(conn, answer, total);
      if (resuming) this.resumes++;
      const { accept, bufsize: wanted } = parseStreamAnswer(answer.headers.get(HSP_HEADER.STREAM) ?? '');
      const offset = parseByteCount(answer.headers.get(HSP_HEADER.STREAM_OFFSET) ?? '0', HSP_HEADER.STREAM_OFFSET);
      this.offsetHint = offset;
      this.noteReady(answer);
      // The final answer may come before every byte is sent (the server failed, or timed out): stop sending then.
      let final: HspAnswer | undefined;
      let lost: unknown;
      const settled = conn.nextAnswer(0).then(
        (a) => {
          final = a;
        },
        (err: unknown) => {
          lost = err;
        },
      );
      try {
        await send(
          conn,
          reader,
          offset,
          accept > 0 ? accept : total - offset,
          Math.max(1, Math.min(bufsize, wanted || bufsize)),
          () => final !== undefined,
        );
      } catch (err) {
        // The source failed (not the connection): the server would wait for bytes that never come.
        if (conn.isOpen) conn.destroy();
        await settled;
        if (!final) throw err;
      }
      await withTimeout(settled, this.options.finishTimeoutMs ?? DEFAULT_FINISH_TIMEOUT_MS);
      if (!final) throw lost ?? new ConnectionClosedError('HSP connection closed before the final answer');
      return this.finished(final, total);
    } finally {
      conn.close();
    }
  }

  private noteReady(answer: HspAnswer): void {
    if (this.ready) return;
    const key = answer.headers.get(HSP_HEADER.STREAM_KEY);
    if (!key) throw new SpoolError(ErrorCode.PROTOCOL_VIOLATION, 'The HSP server accepted the stream without a key (x-stream-key)');
    const writeToken = answer.headers.get('x-write-token');
    const readToken = answer.headers.get('x-read-token');
    this.ready = {
      key,
      resource: answer.headers.get(HSP_HEADER.RESOURCE) ?? '',
      ...(writeToken ? { writeToken } : {}),
      ...(readToken ? { readToken } : {}),
    };
    this.options.onReady?.(this.ready);
  }

  private finished(final: HspAnswer, total: number): HspUploadResult {
    if (final.status !== HspStatus.OK) {
      const missing = final.headers.get(HSP_HEADER.STREAM)?.split(':')[0];
      throw errorOfAnswer(final, { step: 'final', key: this.ready?.key, missing: missing === undefined ? undefined : Number(missing) });
    }
    const md5 = final.headers.get('x-md5');
    return { ...(this.ready as HspStreamReady), size: total, resumes: this.resumes, ...(md5 ? { md5 } : {}) };
  }

  /**
   * A stream request refused. A resume whose stream is gone (69) may have completed while
   * the final answer was lost: the resource's status tells.
   */
  private async refused(conn: HspConnection, answer: HspAnswer, total: number): Promise<HspUploadResult> {
    const error = errorOfAnswer(answer, { step: 'request' });
    if (!this.ready || answer.status !== HspStatus.NOT_FOUND) throw error;
    const probe = await conn.request({
      [HSP_HEADER.ROUTE]: '/status',
      'x-resource-id': this.ready.key,
      ...(this.auth ? { [HSP_HEADER.AUTH]: this.auth } : {}),
    });
    const resource = JSON.parse(probe.payload.toString('utf8')) as { state: string; size: number; checksum: string | null };
    if (resource.state !== 'COMPLETED' || resource.size !== total) throw error;
    return { ...this.ready, size: total, resumes: this.resumes, ...(resource.checksum ? { md5: resource.checksum } : {}) };
  }
}

/** Sends `count` bytes of the source from `offset`, in pieces of at most `bufsize`, with back-pressure. */
async function send(conn: HspConnection, reader: SourceReader, offset: number, count: number, bufsize: number, stop: () => boolean) {
  let left = count;
  if (left === 0) return;
  for await (const chunk of reader.openAt(offset)) {
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    for (let at = 0; at < part.length; at += bufsize) {
      if (stop()) return;
      await conn.send(part.subarray(at, at + bufsize));
    }
    left -= part.length;
    if (left === 0) return;
  }
  throw new InvalidMessageError(`The source ended ${left} bytes before the size it declared`);
}

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`No final HSP answer within ${ms} ms of the last byte`)), ms);
  });
  try {
    await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
