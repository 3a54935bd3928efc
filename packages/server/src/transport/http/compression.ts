import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { constants, createGzip, type Gzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** Whole bodies smaller than this go out as they are: gzip's header and trailer would eat the saving. */
export const MIN_COMPRESSED_BODY_BYTES = 1024;

export interface CompressionSettings {
  /** gzip level 1–9; 0 never compresses. */
  readonly level: number;
  /** Most streaming bodies compressed at once (each holds a zlib state); 0 = no limit on the count. */
  readonly maxStreams: number;
}

/**
 * True if the request's `Accept-Encoding` takes gzip (RFC 9110 §12.5.3): `gzip` or
 * `x-gzip` with a non-zero weight, or else `*` with one. Absent or `identity` only: no.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  let star: boolean | undefined;
  for (const item of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [coding = '', ...params] = item.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    const wanted = Number.isFinite(weight) && weight > 0;
    if (coding === 'gzip' || coding === 'x-gzip') return wanted;
    if (coding === '*') star = wanted;
  }
  return star ?? false;
}

function addVary(res: ServerResponse, field: string): void {
  const current = res.getHeader('Vary');
  const list =
    current === undefined
      ? []
      : String(current)
          .split(',')
          .map((v) => v.trim());
  if (!list.some((v) => v.toLowerCase() === field.toLowerCase() || v === '*')) res.setHeader('Vary', [...list, field].join(', '));
}

/**
 * A streaming answer's body as a handler writes it: into the response, or through gzip.
 * Write into `target` (false: wait for 'drain'), `flush()` after each push so a live
 * follower gets it now rather than when gzip's buffer fills, then `end()` — or `abort()`
 * to cut the connection without the end of the body (a FAILED follow).
 */
export interface BodyStream {
  readonly target: Writable;
  /** True when the body is gzip-compressed. */
  readonly compressed: boolean;
  /** Pushes everything written so far to the client (a gzip sync flush; nothing for plain bodies). */
  flush(): void;
  /** Ends the body, with trailers (declared beforehand with `Trailer`). */
  end(trailers?: OutgoingHttpHeaders): void;
  /** Cuts the connection: the client sees a broken transfer. */
  abort(): void;
}

/**
 * HTTP compression (gzip, Node's zlib) of the answers worth it: JSON, line pages,
 * progressive text, follow mode and SSE — each only for a client that accepts gzip, with
 * `Vary: Accept-Encoding`. Never for byte ranges: a `Content-Range` counts the stored
 * bytes, which a compressed body is not.
 */
export class HttpCompression {
  private streams = 0;

  constructor(private readonly settings: CompressionSettings) {}

  /** Streaming bodies being compressed now. */
  get activeStreams(): number {
    return this.streams;
  }

  private wanted(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.settings.level === 0) return false;
    addVary(res, 'Accept-Encoding');
    return acceptsGzip(req.headers['accept-encoding']);
  }

  /** Sends a whole body, compressed when the client accepts it and it is large enough. HEAD gets the headers only. */
  async send(req: IncomingMessage, res: ServerResponse, body: Buffer | string, contentType: string): Promise<void> {
    let bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (this.wanted(req, res) && bytes.length >= MIN_COMPRESSED_BODY_BYTES) {
      bytes = await gzipAsync(bytes, { level: this.settings.level });
      res.setHeader('Content-Encoding', 'gzip');
    }
    res.setHeader('Content-Type', contentType);
    res.setHeader('Content-Length', String(bytes.length));
    if (req.method === 'HEAD') res.end();
    else res.end(bytes);
  }

  /**
   * Opens a streaming body (call before the headers are sent): gzip when the client
   * accepts it and fewer than `maxStreams` are compressed already, else the response
   * itself. A compressed body has no Content-Length.
   */
  open(req: IncomingMessage, res: ServerResponse): BodyStream {
    const { maxStreams, level } = this.settings;
    if (!this.wanted(req, res) || (maxStreams > 0 && this.streams >= maxStreams)) return plainBody(res);
    res.setHeader('Content-Encoding', 'gzip');
    res.removeHeader('Content-Length');
    this.streams++;
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      this.streams--;
    };
    const zip: Gzip = createGzip({ level });
    zip.pipe(res);
    // Either side ending early ends the other: a client gone stops the writer (its writes
    // see a destroyed target), a compressor error cuts the client.
    res.once('close', () => {
      release();
      if (!zip.writableFinished) zip.destroy();
    });
    zip.once('error', () => res.destroy());
    zip.once('close', release);
    return {
      target: zip,
      compressed: true,
      flush: () => {
        if (!zip.destroyed) zip.flush(constants.Z_SYNC_FLUSH);
      },
      end: (trailers) => {
        if (zip.destroyed || res.destroyed) return;
        if (trailers) res.addTrailers(trailers);
        zip.end();
      },
      abort: () => {
        zip.destroy();
        res.destroy();
      },
    };
  }
}

/** A body written to the response as it is. */
export function plainBody(res: ServerResponse): BodyStream {
  return {
    target: res,
    compressed: false,
    flush: () => undefined,
    end: (trailers) => {
      if (res.destroyed) return;
      if (trailers) res.addTrailers(trailers);
      res.end();
    },
    abort: () => res.destroy(),
  };
}
