import { createReadStream, createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, SpoolError } from '@spool/common';
import { type RequestBody, readBody, readJson, send } from '../blobs/http.js';

/** What a sender sends: whole bytes, or a stream of them (a file, a process's output). */
export type RendezvousData = Uint8Array | string | AsyncIterable<Uint8Array>;

export interface RendezvousClientOptions {
  /** The server: `http://host:8080` (the rendezvous API is at its root). */
  url: string;
  /** An API token (`Authorization: Bearer`), when access control is on. */
  token?: string;
  /** Where the pipes are mounted (the server's `pipeBasePath`, default `/pipe/`). */
  pipeBasePath?: string;
  /** No byte either way for this long cuts a request (default 10 min: a side may wait long for the other). */
  idleTimeoutMs?: number;
}

/** A rendezvous stream as `status` and `list` show it (the server's field names). */
export interface RendezvousStreamInfo {
  id: string;
  state: string;
  download_headers: Record<string, string>;
  upload_headers: Record<string, string>;
  bytes_transferred: number;
  created_at: string;
  ended_at: string | null;
  resource_id: string | null;
}

/** A failure the other side reported (`reportError`), or the server's refusal. */
export interface ReportedError {
  httpStatus?: number;
  name?: string;
  message?: string;
}

/** The SDK code of an HTTP status the rendezvous and pipe protocols answer. */
function codeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return ErrorCode.INVALID_MESSAGE;
    case 401:
      return ErrorCode.UNAUTHORIZED;
    case 403:
      return ErrorCode.FORBIDDEN;
    case 404:
      return ErrorCode.RESOURCE_NOT_FOUND;
    case 409:
    case 429:
      return ErrorCode.WRITER_CONFLICT;
    case 502:
      return ErrorCode.CONNECTION_CLOSED;
    case 504:
      return ErrorCode.TIMEOUT;
    default:
      return ErrorCode.INTERNAL;
  }
}

/**
 * A refused rendezvous or pipe request: `errorName` is the server's (or the other side's)
 * error name (`SessionTimeoutError`, `AlreadyConnectedError`, a reported
 * `FileNotFoundError` …), `status` its HTTP status; `code` the nearest Spool code.
 */
export class RendezvousError extends SpoolError {
  constructor(
    readonly status: number,
    readonly errorName: string,
    message: string,
  ) {
    super(codeOfStatus(status), message, { status, name: errorName });
    this.name = 'RendezvousError';
  }
}

/** The typed error of a refused request: the rendezvous API's JSON `{name, message}`, or a pipe's `[ERROR] …` text. */
async function refusal(response: IncomingMessage): Promise<RendezvousError> {
  const status = response.statusCode ?? 0;
  const text = (await readBody(response, 64 * 1024).catch(() => Buffer.alloc(0))).toString('utf8');
  try {
    const body = JSON.parse(text) as { name?: unknown; message?: unknown };
    if (typeof body.name === 'string')
      return new RendezvousError(status, body.name, typeof body.message === 'string' ? body.message : text);
  } catch {
    // A pipe's plain-text answer.
  }
  return new RendezvousError(status, 'HttpError', text.replace(/^\[ERROR\] /, '').trim() || `HTTP ${status}`);
}

function bodyOf(data: RendezvousData): RequestBody {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  return async (write) => {
    for await (const chunk of data) await write(chunk);
  };
}

/**
 * The SDK of Spool's rendezvous protocols (docs/protocols/rendezvous.md, pipe.md), both
 * styles:
 * - http-rendezvous: `createStream()`, then one side `send(id, data)` and the other
 *   `receive(id)`; `reportError(id, …)` tells the other side why not; `status`, `list`.
 * - piping-server: `pipeSend(path, data)` / `pipeReceive(path)` meet at a path of your
 *   choosing, `n` receivers each get every byte.
 * A received stream that the sender cut short errors (it never ends cleanly), so
 * `receiveToFile` rejects rather than leave a silently truncated file.
 */
export class RendezvousClient {
  private readonly base: string;
  private readonly pipeBase: string;
  private readonly idleTimeoutMs: number;

  constructor(private readonly options: RendezvousClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.pipeBase = `${this.base}/${(options.pipeBasePath ?? '/pipe/').replace(/^\/+|\/+$/g, '')}`;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 600_000;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.options.token ? { Authorization: `Bearer ${this.options.token}` } : {}), ...extra };
  }

  private async call(method: string, url: string, body?: RequestBody, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    const response = await send(method, new URL(url), { headers: this.headers(headers), body, idleTimeoutMs: this.idleTimeoutMs });
    if ((response.statusCode ?? 0) >= 400) throw await refusal(response);
    return response;
  }

  /** Creates a stream; the headers go to the receiver's answer / the sender's answer. Returns its id. */
  async createStream(options: { downloadHeaders?: Record<string, string>; uploadHeaders?: Record<string, string> } = {}): Promise<string> {
    const body = JSON.stringify({ download_headers: options.downloadHeaders ?? {}, upload_headers: options.uploadHeaders ?? {} });
    const response = await this.call('POST', `${this.base}/stream`, body, { 'Content-Type': 'application/json' });
    return (await readJson<{ stream: string }>(response)).stream;
  }

  /** Sends `data` as the stream's source; resolves once the receiver has it all, with the `upload_headers`. */
  async send(streamId: string, data: RendezvousData): Promise<Record<string, string | string[] | undefined>> {
    const response = await this.call('PUT', `${this.base}/stream/${encodeURIComponent(streamId)}`, bodyOf(data));
    await readBody(response);
    return response.headers;
  }

  async sendFile(streamId: string, path: string): Promise<Record<string, string | string[] | undefined>> {
    return this.send(streamId, createReadStream(path));
  }

  /** Receives the stream: its bytes as they come (an error, never an end, if the sender stops short). */
  async receive(streamId: string): Promise<IncomingMessage> {
    return this.call('GET', `${this.base}/stream/${encodeURIComponent(streamId)}`);
  }

  async receiveToFile(streamId: string, path: string): Promise<void> {
    await pipeline(await this.receive(streamId), createWriteStream(path));
  }

  /** Tells the other side (waiting, or still to come) that this side cannot go on. */
  async reportError(streamId: string, error: ReportedError = {}): Promise<void> {
    const body = JSON.stringify({ http_status: error.httpStatus, name: error.name, message: error.message });
    await readBody(
      await this.call('POST', `${this.base}/stream/${encodeURIComponent(streamId)}/error`, body, { 'Content-Type': 'application/json' }),
    );
  }

  async status(streamId: string): Promise<RendezvousStreamInfo> {
    return readJson(await this.call('GET', `${this.base}/stream/${encodeURIComponent(streamId)}/status`));
  }

  /** Every stream the server keeps (needs an admin token when access control is on). */
  async list(): Promise<RendezvousStreamInfo[]> {
    return readJson(await this.call('GET', `${this.base}/stream`));
  }

  private pipeUrl(path: string, n: number | undefined): string {
    const clean = path.replace(/^\/+/, '');
    return `${this.pipeBase}/${clean}${n === undefined ? '' : `?n=${n}`}`;
  }

  /**
   * Sends `data` through the pipe at `path` once `n` receivers (default 1) are there;
   * resolves with the server's progress lines once every receiver got every byte.
   */
  async pipeSend(
    path: string,
    data: RendezvousData,
    options: { n?: number; contentType?: string; filename?: string } = {},
  ): Promise<string[]> {
    const headers: Record<string, string> = {};
    if (options.contentType) headers['Content-Type'] = options.contentType;
    if (options.filename) headers['Content-Disposition'] = `attachment; filename="${options.filename.replace(/[^\x20-\x7e]|["\\]/g, '_')}"`;
    const response = await this.call('PUT', this.pipeUrl(path, options.n), bodyOf(data), headers);
    const lines = (await readBody(response))
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '');
    const failed = lines.find((line) => line.startsWith('[ERROR]'));
    if (failed) throw new RendezvousError(response.statusCode ?? 200, 'PipeError', failed.replace(/^\[ERROR\] /, ''));
    if (!lines.includes('[INFO] All receiver(s) was/were received successfully.')) {
      throw new RendezvousError(502, 'PipeError', `The transfer did not complete: ${lines.at(-1) ?? 'no answer'}`);
    }
    return lines;
  }

  async pipeSendFile(path: string, file: string, options: { n?: number; contentType?: string } = {}): Promise<string[]> {
    return this.pipeSend(path, createReadStream(file), options);
  }

  /** Receives from the pipe at `path` (one of `n`); the answer's headers carry the sender's type, length and name. */
  async pipeReceive(path: string, options: { n?: number } = {}): Promise<IncomingMessage> {
    return this.call('GET', this.pipeUrl(path, options.n));
  }

  async pipeReceiveToFile(path: string, file: string, options: { n?: number } = {}): Promise<void> {
    await pipeline(await this.pipeReceive(path, options), createWriteStream(file));
  }
}
