import type { IncomingMessage } from 'node:http';
import {
  type BlobFlag,
  BlobStreamDecoder,
  blobTag,
  blobUploadPreamble,
  DEFAULT_BLOB_NAMESPACE,
  ErrorCode,
  InvalidMessageError,
  isBlobName,
  ProtocolViolationError,
  SpoolError,
} from '@spool/common';
import { errorOf, type RequestBody, readBody, readJson, send } from './http.js';
import { type BlobRetryOptions, isConnectionError, type ResolvedBlobRetry, resolveBlobRetry, retryDelayMs, withRetries } from './retry.js';

/** A blob's bytes: whole, or a function opening them (called again for a retry). */
export type BlobData = Uint8Array | string | (() => AsyncIterable<Uint8Array>);

/** One blob of a `pushMany`. */
export interface BlobToPush {
  id: string;
  data: BlobData;
  /** Required when `data` is a function (the first line of the stream states every size). */
  size?: number;
}

/** One blob of a `pullMany`, whole. */
export interface PulledBlob {
  id: string;
  size: number;
  /** base64url of its last 16 bytes (its AES-GCM tag in Soledad), as the server reported it — checked against the bytes. */
  tag: string;
  data: Buffer;
}

export interface BlobClientOptions {
  /** The blob API's base, as a Soledad client is configured: `http://host:8080/blob-sync/`. */
  url: string;
  /** Whose blobs: the `{user}` of every path. */
  user: string;
  /** The user's token, sent as Soledad's `Authorization: Token base64(user:token)`; none with access control off. */
  token?: string;
  /** Default namespace of every call (default `default`). */
  namespace?: string;
  /** Retries of connection errors (default: 10, waits growing by 10 s up to 60 s). */
  retry?: BlobRetryOptions;
  /** No byte either way for this long cuts a request (then retried; default 60 s). */
  idleTimeoutMs?: number;
  /** Largest blob `pullMany` holds in memory (default 64 MiB); larger: `get` it. */
  maxBlobBytes?: number;
}

export interface BlobNamespaceOption {
  namespace?: string;
}

export interface BlobListOptions extends BlobNamespaceOption {
  /** Creation order (default oldest first). */
  order?: 'oldest' | 'newest';
  /** Only blobs carrying this flag. */
  flag?: BlobFlag;
}

const MIB = 1024 * 1024;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The bytes of a whole blob. */
function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function checkName(value: string, what: string): string {
  if (!isBlobName(value)) throw new InvalidMessageError(`${what} ${JSON.stringify(value)} must be 1 to 128 letters, digits, _ or -`);
  return value;
}

/**
 * The SDK of the blob-sync protocol (docs/protocols/blob-sync.md), speaking exactly what a
 * Soledad client does: per-blob put/get/delete/list/flags, and any number of blobs in one
 * streamed request each way — `pushMany`, `pullMany` (an async iterator: the next blob is
 * read from the connection only when asked for). Connection errors are retried with the
 * original's waits (10 s more each time, at most 60 s); a stream goes on from the blobs
 * not yet done. Refusals are SpoolErrors with the server's code, status and fields.
 */
export class BlobClient {
  private readonly base: URL;
  private readonly user: string;
  private readonly headers: Record<string, string>;
  private readonly namespace: string;
  private readonly retry: ResolvedBlobRetry;
  private readonly idleTimeoutMs: number;
  private readonly maxBlobBytes: number;

  constructor(options: BlobClientOptions) {
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.user = checkName(options.user, 'user');
    this.namespace = checkName(options.namespace ?? DEFAULT_BLOB_NAMESPACE, 'namespace');
    this.headers = options.token ? { Authorization: `Token ${Buffer.from(`${options.user}:${options.token}`).toString('base64')}` } : {};
    this.retry = resolveBlobRetry(options.retry);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.maxBlobBytes = options.maxBlobBytes ?? 64 * MIB;
  }

  /**
   * Stores a blob (409 `NAME_TAKEN` if the id exists). A retry that finds the blob stored —
   * the connection broke after the first attempt stored it — checks its size and tag
   * against these bytes and counts it as stored.
   */
  async put(id: string, data: Uint8Array | string, options: BlobNamespaceOption = {}): Promise<void> {
    const bytes = bytesOf(data);
    await withRetries(this.retry, async (attempt) => {
      const response = await this.request('PUT', this.blobUrl(id, options), { body: bytes });
      if (response.statusCode === 200) {
        response.resume();
        return;
      }
      const error = await errorOf(response, `Storing blob ${id}`);
      if (attempt > 0 && error.code === ErrorCode.NAME_TAKEN && (await this.holds(id, bytes, options))) return;
      throw error;
    });
  }

  /** A blob's bytes and tag; `range` = [first, last] byte, inclusive (RFC 9110). */
  async get(id: string, options: BlobNamespaceOption & { range?: [number, number] } = {}): Promise<{ data: Buffer; tag: string }> {
    return withRetries(this.retry, async () => {
      const headers = options.range ? { Range: `bytes=${options.range[0]}-${options.range[1]}` } : undefined;
      const response = await this.request('GET', this.blobUrl(id, options), { headers });
      if (response.statusCode !== 200 && response.statusCode !== 206) throw await errorOf(response, `Reading blob ${id}`);
      return { tag: String(response.headers.tag ?? ''), data: await readBody(response, this.maxBlobBytes) };
    });
  }

  /** Deletes a blob (404 `RESOURCE_NOT_FOUND` if there is none; a retry that finds it gone counts as done). */
  async delete(id: string, options: BlobNamespaceOption = {}): Promise<void> {
    await withRetries(this.retry, async (attempt) => {
      const response = await this.request('DELETE', this.blobUrl(id, options));
      if (response.statusCode === 204 || (attempt > 0 && response.statusCode === 404)) {
        response.resume();
        return;
      }
      throw await errorOf(response, `Deleting blob ${id}`);
    });
  }

  /** The ids of the namespace's stored blobs. */
  async list(options: BlobListOptions = {}): Promise<string[]> {
    return this.getJson<string[]>(this.listUrl(options, false), 'Listing blobs');
  }

  /** How many blobs the namespace stores. */
  async count(options: Omit<BlobListOptions, 'order'> = {}): Promise<number> {
    return (await this.getJson<{ count: number }>(this.listUrl(options, true), 'Counting blobs')).count;
  }

  /** Replaces a blob's flags (406 for a flag the server does not know). */
  async setFlags(id: string, flags: readonly BlobFlag[], options: BlobNamespaceOption = {}): Promise<void> {
    await withRetries(this.retry, async () => {
      const response = await this.request('POST', this.blobUrl(id, options), {
        body: JSON.stringify(flags),
        headers: { 'Content-Type': 'application/json' },
      });
      if (response.statusCode !== 200) throw await errorOf(response, `Setting the flags of blob ${id}`);
      response.resume();
    });
  }

  async flags(id: string, options: BlobNamespaceOption = {}): Promise<BlobFlag[]> {
    const url = this.blobUrl(id, options);
    url.searchParams.set('only_flags', 'true');
    return this.getJson<BlobFlag[]>(url, `Reading the flags of blob ${id}`);
  }

  /**
   * Stores every blob in one streamed request (sources opened one after the other, with
   * back-pressure). Refused whole (409 listing existing ids, 507 over quota) before any is
   * stored. After a connection error the stream is sent again without the blobs the
   * server already holds (it names them): those are returned in `skipped`.
   */
  async pushMany(blobs: readonly BlobToPush[], options: BlobNamespaceOption = {}): Promise<{ stored: number; skipped: string[] }> {
    const sized = blobs.map((blob) => {
      checkName(blob.id, 'blob id');
      const size = typeof blob.data === 'function' ? blob.size : bytesOf(blob.data).length;
      if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
        throw new InvalidMessageError(`Blob ${blob.id}: a source given as a function needs its size`);
      }
      return { ...blob, size };
    });
    let pending = sized;
    const skipped: string[] = [];
    for (let retries = 0; ; ) {
      try {
        const body = pending;
        const response = await this.request('POST', this.streamUrl('upload', options), { body: (write) => this.writeUpload(body, write) });
        if (response.statusCode === 200) return { stored: (await readJson<{ stored: number }>(response)).stored, skipped };
        const error = await errorOf(response, 'Uploading blobs');
        const existing = error.details?.existing;
        const held = new Set(retries > 0 && error.code === ErrorCode.NAME_TAKEN && Array.isArray(existing) ? (existing as string[]) : []);
        if (!pending.some((blob) => held.has(blob.id))) throw error;
        // What the broken attempt stored: send the rest at once.
        skipped.push(...pending.filter((blob) => held.has(blob.id)).map((blob) => blob.id));
        pending = pending.filter((blob) => !held.has(blob.id));
      } catch (err) {
        const delay = isConnectionError(err) ? retryDelayMs(this.retry, ++retries) : undefined;
        if (delay === undefined) throw err;
        await sleep(delay);
      }
    }
  }

  /**
   * Every requested blob, in order, as an async iterator: each is read whole (at most
   * `maxBlobBytes`) and its tag checked, and the connection is read only as fast as the
   * loop asks. 404 (every missing id in `details.missing`) before the first. After a
   * connection error the stream is asked again for the blobs not yet yielded.
   */
  async *pullMany(ids: readonly string[], options: BlobNamespaceOption = {}): AsyncGenerator<PulledBlob> {
    for (const id of ids) checkName(id, 'blob id');
    let remaining = [...ids];
    for (let retries = 0; ; ) {
      let response: IncomingMessage | undefined;
      let done = 0;
      try {
        response = await this.request('POST', this.streamUrl('download', options), { body: JSON.stringify(remaining) });
        if (response.statusCode !== 200) throw await errorOf(response, 'Downloading blobs');
        for await (const blob of this.readDownload(response, remaining)) {
          done++;
          retries = 0;
          yield blob;
        }
        return;
      } catch (err) {
        const delay = isConnectionError(err) ? retryDelayMs(this.retry, ++retries) : undefined;
        if (delay === undefined) throw err;
        remaining = remaining.slice(done);
        await sleep(delay);
      } finally {
        response?.destroy();
      }
    }
  }

  private async *readDownload(response: IncomingMessage, ids: readonly string[]): AsyncGenerator<PulledBlob> {
    const decoder = new BlobStreamDecoder();
    let index = 0;
    let current: { size: number; tag: string; parts: Buffer[] } | undefined;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      for (const event of decoder.push(chunk)) {
        if (event.type === 'start') {
          if (event.size > this.maxBlobBytes) {
            throw new SpoolError(ErrorCode.MESSAGE_TOO_LARGE, `Blob ${ids[index]} has ${event.size} bytes, over maxBlobBytes: get it`);
          }
          current = { size: event.size, tag: event.tag, parts: [] };
        } else if (event.type === 'data') {
          current?.parts.push(Buffer.from(event.bytes));
        } else if (current) {
          const id = ids[index++];
          if (id === undefined) throw new ProtocolViolationError(`The server sent more than the ${ids.length} blobs asked for`);
          const data = Buffer.concat(current.parts, current.size);
          if (blobTag(data) !== current.tag) throw new ProtocolViolationError(`Blob ${id}: its bytes do not end with the tag sent`);
          yield { id, size: current.size, tag: current.tag, data };
          current = undefined;
        }
      }
    }
    decoder.end();
    if (index !== ids.length) throw new ProtocolViolationError(`The server sent ${index} of the ${ids.length} blobs asked for`);
  }

  /** The upload body: the first line, then each blob's bytes, exactly its size. */
  private async writeUpload(blobs: readonly (BlobToPush & { size: number })[], write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    await write(blobUploadPreamble(blobs.map((blob) => [blob.id, blob.size])));
    for (const blob of blobs) {
      if (typeof blob.data !== 'function') {
        if (blob.size > 0) await write(bytesOf(blob.data));
        continue;
      }
      let sent = 0;
      for await (const chunk of blob.data()) {
        sent += chunk.length;
        if (sent > blob.size) break;
        await write(chunk);
      }
      if (sent !== blob.size) {
        throw new InvalidMessageError(
          `Blob ${blob.id}: its source gave ${sent > blob.size ? 'more than' : sent} bytes, ${blob.size} declared`,
        );
      }
    }
  }

  /** True if the stored blob has these bytes' size and tag (what a retried put finds when the first attempt stored it). */
  private async holds(id: string, bytes: Uint8Array, options: BlobNamespaceOption): Promise<boolean> {
    const response = await this.request('HEAD', this.blobUrl(id, options));
    response.resume();
    return (
      response.statusCode === 200 && Number(response.headers['content-length']) === bytes.length && response.headers.tag === blobTag(bytes)
    );
  }

  private async getJson<T>(url: URL, what: string): Promise<T> {
    return withRetries(this.retry, async () => {
      const response = await this.request('GET', url);
      if (response.statusCode !== 200) throw await errorOf(response, what);
      return readJson<T>(response);
    });
  }

  private request(method: string, url: URL, options: { headers?: Record<string, string>; body?: RequestBody } = {}) {
    return send(method, url, { headers: { ...this.headers, ...options.headers }, body: options.body, idleTimeoutMs: this.idleTimeoutMs });
  }

  private url(path: string, namespace: string | undefined): URL {
    const url = new URL(path, this.base);
    url.searchParams.set('namespace', checkName(namespace ?? this.namespace, 'namespace'));
    return url;
  }

  private blobUrl(id: string, options: BlobNamespaceOption): URL {
    return this.url(`blobs/${this.user}/${checkName(id, 'blob id')}`, options.namespace);
  }

  private listUrl(options: BlobListOptions, count: boolean): URL {
    const url = this.url(`blobs/${this.user}/`, options.namespace);
    if (options.order === 'newest') url.searchParams.set('order_by', '-date');
    if (options.flag) url.searchParams.set('filter_flag', options.flag);
    if (count) url.searchParams.set('only_count', 'true');
    return url;
  }

  private streamUrl(direction: 'upload' | 'download', options: BlobNamespaceOption): URL {
    const url = this.url(`stream/${this.user}/`, options.namespace);
    url.searchParams.set('direction', direction);
    return url;
  }
}
