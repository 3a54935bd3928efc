import http from 'node:http';
import type { Pattern } from './pattern.js';

/** Chunks written to an upload request body. */
const BODY_CHUNK_BYTES = 1024 * 1024;

/** One keep-alive connection reused by consecutive requests (range loops, line pages). */
export function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1 });
}

export interface UploadResponse {
  status: number;
  body: string;
}

/** PUTs the first `total` bytes of the pattern (Content-Length, 1 MiB writes with back-pressure). */
export function httpUpload(url: string, pattern: Pattern, total: number, headers: Record<string, string> = {}): Promise<UploadResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'PUT', headers: { 'Content-Length': String(total), ...headers } });
    request.on('error', reject);
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        body += text;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    writeAll(request, pattern.chunks(total, BODY_CHUNK_BYTES));
  });
}

/** Writes `chunks` into `request` as the socket takes them (waiting for 'drain'), then ends it. */
export function writeAll(request: http.ClientRequest, chunks: Iterator<Buffer>): void {
  const writeMore = () => {
    for (let next = chunks.next(); !next.done; next = chunks.next()) {
      if (!request.write(next.value)) {
        request.once('drain', writeMore);
        return;
      }
    }
    request.end();
  };
  writeMore();
}

export interface DownloadResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  /** Every byte matched the pattern at its offset (`firstOffset` + position). */
  contentMatches: boolean;
}

/** GETs `url` (optionally a Range), checking each received chunk against the pattern from `firstOffset`. */
export function httpDownload(
  url: string,
  pattern: Pattern,
  options: { agent?: http.Agent; range?: [number, number]; firstOffset?: number } = {},
): Promise<DownloadResponse> {
  const headers: Record<string, string> = options.range ? { Range: `bytes=${options.range[0]}-${options.range[1] - 1}` } : {};
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers, ...(options.agent ? { agent: options.agent } : {}) }, (response) => {
      let bytes = 0;
      let contentMatches = true;
      const firstOffset = options.firstOffset ?? options.range?.[0] ?? 0;
      response.on('data', (chunk: Buffer) => {
        if (contentMatches && !pattern.matches(firstOffset + bytes, chunk)) contentMatches = false;
        bytes += chunk.length;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes, contentMatches }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** GETs a small JSON document over `agent`. */
export function httpGetJson<T>(url: string, agent?: http.Agent): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, agent ? { agent } : {}, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (piece: string) => {
        text += piece;
      });
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as T });
        } catch (error) {
          reject(error);
        }
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}
