/**
 * Small HTTP clients for the HTTP API's e2e tests: node:http requests with full control
 * over headers and bodies, raw sockets for what well-behaved clients never send, and the
 * real `curl` binary where the point is that a user's tool works.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { Crc32 } from '@spool/common';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  json<T = Record<string, unknown>>(): T;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  /** A whole body, or a stream (sent chunked unless Content-Length is given). */
  body?: Buffer | string | Readable;
  timeoutMs?: number;
}

function toResponse(status: number, headers: IncomingHttpHeaders, body: Buffer): HttpResponse {
  return {
    status,
    headers,
    body,
    text: () => body.toString('utf8'),
    json: <T>() => JSON.parse(body.toString('utf8')) as T,
  };
}

/** One request; resolves with the whole response. Rejects on socket errors or after `timeoutMs`. */
export function request(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve(toResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks)));
      });
      res.on('error', reject);
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no response within ${options.timeoutMs ?? 10_000} ms`)),
      options.timeoutMs ?? 10_000,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const { body } = options;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

export async function getJson<T = Record<string, unknown>>(url: string): Promise<T> {
  const res = await request(url);
  if (res.status !== 200) throw new Error(`GET ${url} → ${res.status} ${res.text()}`);
  return res.json<T>();
}

/**
 * Sends raw bytes on a fresh TCP connection and collects everything the server sends
 * until it closes (or `timeoutMs`). `thenClose` ends our side after writing.
 */
export function rawExchange(
  port: number,
  data: Buffer | string,
  options: { timeoutMs?: number; thenClose?: boolean } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 5_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', finish);
    socket.on('error', finish);
    socket.write(data, () => {
      if (options.thenClose) socket.end();
    });
  });
}

/** Parses the status code of a raw HTTP response text. */
export function rawStatus(responseText: string): number {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(responseText);
  return match ? Number(match[1]) : 0;
}

/** The JSON body of a raw HTTP response text (Content-Length framed). */
export function rawJson<T = Record<string, unknown>>(responseText: string): T {
  const start = responseText.indexOf('\r\n\r\n');
  return JSON.parse(responseText.slice(start + 4)) as T;
}

let curlAvailable: boolean | undefined;
export function hasCurl(): boolean {
  if (curlAvailable === undefined) {
    try {
      execFileSync('curl', ['--version'], { stdio: 'ignore' });
      curlAvailable = true;
    } catch {
      curlAvailable = false;
    }
  }
  return curlAvailable;
}

export interface CurlResult {
  /** curl's exit code (0 ok, 18 partial transfer, 22 HTTP error with --fail, ...). */
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Starts the real curl binary with a bounded time; its result never rejects on a non-zero exit. */
function startCurl(args: string[], options: { timeoutMs?: number; cwd?: string }) {
  const timeoutMs = options.timeoutMs ?? 20_000;
  let child: ReturnType<typeof execFile> | undefined;
  const result = new Promise<CurlResult>((resolve) => {
    child = execFile(
      'curl',
      ['--silent', '--show-error', '--max-time', String(Math.ceil(timeoutMs / 1000)), ...args],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs + 5_000, cwd: options.cwd },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? Number((err as { code: number }).code) : -1) : 0;
        resolve({ code, stdout, stderr: stderr.toString('utf8') });
      },
    );
  });
  const stdin = child?.stdin;
  if (!stdin) throw new Error('curl has no stdin');
  return { stdin, result };
}

/** Runs the real curl binary with a bounded time; never throws on a non-zero exit. */
export function curl(args: string[], options: { input?: Buffer | string; timeoutMs?: number; cwd?: string } = {}): Promise<CurlResult> {
  const { stdin, result } = startCurl(args, options);
  if (options.input !== undefined) stdin.end(options.input);
  else stdin.end();
  return result;
}

export const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');
/** CRC-32 as Spool reports it: 8 lowercase hex digits. */
export const crc32 = (data: Buffer | string): string => new Crc32().update(Buffer.from(data)).hex();

/** Polls `check` until it returns a value other than undefined (bounded). */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Log-like text: `count` numbered lines. */
export function logLines(count: number, from = 0): string {
  let text = '';
  for (let i = from; i < from + count; i++) text += `line ${i} ${'x'.repeat(i % 50)}\n`;
  return text;
}

/** A request whose body the test writes piece by piece (chunked unless Content-Length is set). */
export interface StreamingRequest {
  write(data: Buffer | string): Promise<void>;
  end(data?: Buffer | string): void;
  /** Cuts the connection mid-body, as a crashing client does. */
  abort(): void;
  /** The response, whenever it comes (possibly before the body ends). */
  response: Promise<HttpResponse>;
  /** True once the server sent `100 Continue`. */
  continued(): boolean;
}

export function streamingRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string | number> } = {},
): StreamingRequest {
  let sawContinue = false;
  let req: ReturnType<typeof httpRequest>;
  const response = new Promise<HttpResponse>((resolve, reject) => {
    req = httpRequest(url, { method: options.method ?? 'PUT', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(toResponse(res.statusCode ?? 0, res.headers, Buffer.concat(chunks))));
      res.on('error', reject);
    });
    req.on('continue', () => {
      sawContinue = true;
    });
    req.on('error', reject);
  });
  // A test that aborts on purpose awaits no response.
  response.catch(() => undefined);
  // biome-ignore lint/style/noNonNullAssertion: assigned synchronously in the executor above
  const r = req!;
  if (!String(r.getHeader('expect') ?? '').includes('100-continue')) r.flushHeaders();
  return {
    write: (data) => new Promise<void>((resolve, reject) => r.write(data, (err) => (err ? reject(err) : resolve()))),
    end: (data) => (data === undefined ? r.end() : r.end(data)),
    abort: () => r.destroy(),
    response,
    continued: () => sawContinue,
  };
}

/** A curl process whose stdin the test writes piece by piece (`./build.sh | curl -T - URL`). */
export interface PipedCurl {
  write(data: Buffer | string): Promise<void>;
  /** Ends stdin (the build finished). */
  end(): void;
  /** curl's exit, whenever it comes. */
  result: Promise<CurlResult>;
}

/** Starts the real curl with `args`, its stdin a pipe the test writes to. */
export function pipedCurl(args: string[], timeoutMs = 20_000): PipedCurl {
  const { stdin, result } = startCurl(args, { timeoutMs });
  return {
    write: (data) => new Promise<void>((resolve, reject) => stdin.write(data, (err) => (err ? reject(err) : resolve()))),
    end: () => stdin.end(),
    result,
  };
}
