import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ConnectionClosedError, ErrorCode, SpoolError } from '@spool/common';

/** A request body: whole, or written by a function with back-pressure (chunked). */
export type RequestBody = Uint8Array | string | ((write: (chunk: Uint8Array) => Promise<void>) => Promise<void>);

export interface SendOptions {
  headers?: Record<string, string>;
  body?: RequestBody;
  /** No byte either way for this long cuts the connection (a connection error: retried). */
  idleTimeoutMs: number;
}

/** Largest error or JSON answer read into memory. */
const MAX_JSON_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * One HTTP request; resolves with the response once its head arrives (read or destroy
 * its body). A body written by a function waits for the socket at each chunk; if it
 * throws, the request is cut (the server drops what it had of it) and the error rejects.
 */
export function send(method: string, url: URL, options: SendOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers: options.headers });
    request.setTimeout(options.idleTimeoutMs, () => {
      request.destroy(Object.assign(new Error(`No answer from ${url.host} within ${options.idleTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
    request.on('error', reject);
    request.on('response', resolve);
    const { body } = options;
    if (typeof body !== 'function') {
      request.end(body);
      return;
    }
    const write = (chunk: Uint8Array) =>
      new Promise<void>((ok, fail) => {
        if (request.destroyed) {
          fail(new ConnectionClosedError('The connection closed while the request body was being sent'));
          return;
        }
        if (request.write(chunk)) ok();
        else {
          const onDrain = () => {
            request.off('close', onClose);
            ok();
          };
          const onClose = () => {
            request.off('drain', onDrain);
            fail(new ConnectionClosedError('The connection closed while the request body was being sent'));
          };
          request.once('drain', onDrain);
          request.once('close', onClose);
        }
      });
    body(write).then(
      () => request.end(),
      (err: unknown) => {
        request.destroy();
        reject(err);
      },
    );
  });
}

/** A response body, whole (bounded). */
export async function readBody(response: IncomingMessage, limit = MAX_JSON_ANSWER_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      response.destroy();
      throw new SpoolError(ErrorCode.MESSAGE_TOO_LARGE, `Answer larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJson<T>(response: IncomingMessage): Promise<T> {
  return JSON.parse((await readBody(response)).toString('utf8')) as T;
}

/**
 * The typed error of a refused request: the server's `code` (a SpoolError code) and
 * message, with its status and fields (`missing`, `existing`, `stored` …) in `details`.
 */
export async function errorOf(response: IncomingMessage, what: string): Promise<SpoolError> {
  const status = response.statusCode ?? 0;
  const text = (await readBody(response).catch(() => Buffer.alloc(0))).toString('utf8');
  let body: { name?: unknown; code?: unknown; message?: unknown; [field: string]: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not the blob API's JSON (a proxy's page): the status says it.
  }
  const { code, message, ...fields } = body;
  return new SpoolError(
    (typeof code === 'string' ? code : status === 404 ? 'RESOURCE_NOT_FOUND' : 'INTERNAL') as ErrorCode,
    `${what}: ${typeof message === 'string' ? message : `HTTP ${status} ${text.slice(0, 200)}`}`,
    { status, ...fields },
  );
}
