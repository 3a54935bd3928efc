/**
 * A Step client written against the wire, the way the Java clients behave (not our SDK):
 * used to prove wire compatibility and to send deliberately bad input.
 */
import { createHash } from 'node:crypto';
import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

export class RawStepSocket {
  readonly ws: WebSocket;
  readonly texts: unknown[] = [];
  readonly binaries: Buffer[] = [];
  readonly closed: Promise<Closed>;
  private waiters: (() => void)[] = [];

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, { maxPayload: 0, ...options });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.binaries.push(data);
      else this.texts.push(JSON.parse(data.toString('utf8')));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code: number, reason: Buffer) => {
        resolve({ code, reason: reason.toString('utf8') });
        for (const w of this.waiters.splice(0)) w();
      });
    });
    this.ws.on('error', () => undefined);
  }

  opened(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  sendJson(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Waits for the n-th text message (1-based) to have arrived, or the socket to close. */
  async text<T = Record<string, unknown>>(n: number, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.texts.length < n) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`closed before text message #${n}`);
      if (Date.now() > deadline) throw new Error(`no text message #${n} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.texts[n - 1] as T;
  }

  /** Waits until a message satisfying `match` arrived (texts are scanned from the start). */
  async waitFor<T = Record<string, unknown>>(match: (m: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.texts.find((m) => match(m as Record<string, unknown>));
      if (found) return found as T;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('closed before the awaited message');
      if (Date.now() > deadline) throw new Error(`awaited message not seen within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends one binary fragment, resolving when ws handed it to the socket (back-pressure). */
  fragment(data: Buffer, fin: boolean): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(data, { binary: true, fin }, (err) => (err ? reject(err) : resolve())));
  }
}

export interface StepUploadOptions {
  filename?: string;
  mimeType?: string;
  supportsLineAccess?: boolean;
  query?: string;
}

/** Opens an upload socket and performs StartUpload → ReadyForUpload. */
export async function startRawUpload(
  wsUrl: string,
  options: StepUploadOptions = {},
): Promise<{ socket: RawStepSocket; uri: string; id: string }> {
  const socket = new RawStepSocket(`${wsUrl}/ws/streaming/upload${options.query ?? ''}`);
  await socket.opened();
  socket.sendJson({
    '@': 'StartUpload',
    metadata: {
      filename: options.filename ?? 'test.log',
      mimeType: options.mimeType ?? 'text/plain',
      supportsLineAccess: options.supportsLineAccess ?? true,
    },
  });
  const ready = await socket.text<{ '@': string; reference: { uri: string } }>(1);
  if (ready['@'] !== 'ReadyForUpload') throw new Error(`expected ReadyForUpload, got ${JSON.stringify(ready)}`);
  const uri = ready.reference.uri;
  return { socket, uri, id: uri.slice(uri.lastIndexOf('/') + 1) };
}

/**
 * Sends `chunks` as ONE binary message the way the Java client does: data frames, then
 * an empty FIN continuation frame. Returns the MD5 of the bytes.
 */
export async function sendJavaStyleData(socket: RawStepSocket, chunks: Iterable<Buffer>): Promise<string> {
  const md5 = createHash('md5');
  let any = false;
  for (const chunk of chunks) {
    md5.update(chunk);
    any = true;
    await socket.fragment(chunk, false);
  }
  if (any) await socket.fragment(Buffer.alloc(0), true);
  return md5.digest('hex');
}

export const md5Hex = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
