import { HSP_HEADER, type HspHeadersInit, type ResourceFields, type SpoolReferences, type TransferState } from '@spool/common';
import { type HspAnswer, HspConnection, type HspConnectionOptions } from './connection.js';
import { HspStreamUpload, type HspUploadOptions, type HspUploadResult } from './upload.js';
import type { HspUploadSource } from './upload-source.js';

export interface HspClientOptions extends HspConnectionOptions {
  /** The credential sent as `auth` on every request (an API token or a resource's capability token). */
  token?: string;
}

/** A resource as `/status` and `/list` show it: its fields, and where it is read over the other protocols. */
export interface HspResource extends ResourceFields {
  references: SpoolReferences;
}

export interface HspListFilter {
  state?: TransferState;
  context?: string;
  prefix?: string;
  after?: string;
  limit?: number;
}

/**
 * A client of Spool's HSP protocol (docs/protocols/hsp.md): one connection, opened on
 * first use and reused for requests in turn; uploads (stream requests, resumed by key
 * after a cut) each use connections of their own.
 */
export class HspClient {
  private connection: Promise<HspConnection> | undefined;
  /** Requests on the shared connection, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: HspClientOptions) {}

  /** Sends one packet (the `auth` header added) and returns the answer; a status other than 0/1 throws HspStatusError. */
  request(headers: Readonly<Record<string, string>>, payload?: Uint8Array | string): Promise<HspAnswer> {
    const withAuth: HspHeadersInit = this.options.token ? { ...headers, [HSP_HEADER.AUTH]: this.options.token } : headers;
    const run = this.queue.then(async () => {
      const conn = await this.open();
      return conn.request(withAuth, payload);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** `/ping`: the server's `pong:<payload>`. */
  async ping(payload = ''): Promise<string> {
    const answer = await this.request({ [HSP_HEADER.ROUTE]: '/ping', [HSP_HEADER.DATA_FORMAT]: 'text:utf-8' }, payload);
    return answer.payload.toString('utf8');
  }

  /** `/status` of a resource (a stream key is its resource id). */
  async status(id: string): Promise<HspResource> {
    const answer = await this.request({ [HSP_HEADER.ROUTE]: '/status', 'x-resource-id': id });
    return JSON.parse(answer.payload.toString('utf8')) as HspResource;
  }

  /** `/list`: one page of resources; pass `nextAfter` as `after` for the next. */
  async list(filter: HspListFilter = {}): Promise<{ resources: HspResource[]; nextAfter: string | null }> {
    const headers: Record<string, string> = { [HSP_HEADER.ROUTE]: '/list' };
    for (const [name, value] of Object.entries(filter)) if (value !== undefined) headers[`x-${name}`] = String(value);
    const answer = await this.request(headers);
    return JSON.parse(answer.payload.toString('utf8')) as { resources: HspResource[]; nextAfter: string | null };
  }

  /** `/download`: visible bytes `[offset, offset + length)` (default: all of them), at most `maxAnswerBytes`. */
  async download(id: string, range: { offset?: number; length?: number } = {}): Promise<Buffer> {
    const headers: Record<string, string> = { [HSP_HEADER.ROUTE]: '/download', 'x-resource-id': id };
    if (range.offset !== undefined) headers['x-offset'] = String(range.offset);
    if (range.length !== undefined) headers['x-length'] = String(range.length);
    return (await this.request(headers)).payload;
  }

  /** Streams `source` to a new resource (`/upload`), resuming after lost connections. */
  upload(source: HspUploadSource, options: HspUploadOptions = {}): Promise<HspUploadResult> {
    return new HspStreamUpload(this.options, this.options.token, options).run(source);
  }

  /** Closes the shared connection. */
  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) (await connection.catch(() => undefined))?.close();
  }

  private async open(): Promise<HspConnection> {
    const current = await this.connection?.catch(() => undefined);
    if (current?.isOpen) return current;
    this.connection = HspConnection.connect(this.options);
    return this.connection;
  }
}
