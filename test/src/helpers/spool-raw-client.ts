/**
 * Spool-protocol helpers written against the wire (not the SDK), to check the protocol
 * itself and to send deliberately bad input. Messages are JSON typed by "type".
 */
import { createHash } from 'node:crypto';
import { RawStepSocket } from './step-raw-client.js';

/** A raw WebSocket that records every text (parsed JSON) and binary message, in order. */
export class RawSpoolSocket extends RawStepSocket {
  /** Every message in arrival order: parsed JSON for text, Buffers for binary. */
  readonly sequence: Array<Record<string, unknown> | Buffer> = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    super(url, { headers });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.sequence.push(isBinary ? data : (JSON.parse(data.toString('utf8')) as Record<string, unknown>));
    });
  }

  /** Waits for the first text message of `type` (from the start), or throws when the socket closes first. */
  message<T = Record<string, unknown>>(type: string, timeoutMs = 10_000): Promise<T> {
    return this.waitFor<T>((m) => m.type === type, timeoutMs);
  }

  /** Sends one binary message, resolving once ws handed it to the socket. */
  binary(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(data, { binary: true }, (err) => (err ? reject(err) : resolve())));
  }
}

export { crc32, md5 } from './http-client.js';
export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** Opens an upload socket and creates a resource; resolves with the `ready` message. */
export async function createRawUpload(
  wsUrl: string,
  options: { headers?: Record<string, string>; metadata?: Record<string, unknown>; contextId?: string } = {},
): Promise<{ socket: RawSpoolSocket; ready: Record<string, unknown> & { id: string; offset: number } }> {
  const socket = new RawSpoolSocket(`${wsUrl}/ws/spool/v1/upload`, options.headers);
  await socket.opened();
  socket.sendJson({
    type: 'create',
    metadata: options.metadata ?? { filename: 'raw.log', mimeType: 'text/plain', supportsLineAccess: true },
    ...(options.contextId ? { contextId: options.contextId } : {}),
  });
  const ready = await socket.message<Record<string, unknown> & { id: string; offset: number }>('ready');
  return { socket, ready };
}
