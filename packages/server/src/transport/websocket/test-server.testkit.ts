/** Test helpers: a node:http server on 127.0.0.1 that upgrades with `acceptWebSocket`, and raw TCP clients. */
import { type Hash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { type Duplex, Readable } from 'node:stream';
import type { WsConnection, WsConnectionOptions } from './connection.js';
import { acceptWebSocket, rejectUpgrade } from './handshake.js';

export const DEFAULT_TEST_OPTIONS: WsConnectionOptions = {
  maxTextMessageBytes: 1 << 20,
  pingIntervalMs: 60_000,
  closeTimeoutMs: 5_000,
};

export interface WsTestServer {
  readonly port: number;
  readonly url: string;
  /** Resolves with the next accepted connection (in accept order). */
  nextConnection(): Promise<WsConnection>;
  close(): Promise<void>;
}

/** Upgrades requests on any path except `/missing`, which is refused with 404. */
export async function startWsTestServer(options: Partial<WsConnectionOptions> = {}): Promise<WsTestServer> {
  const accepted: WsConnection[] = [];
  const waiting: ((connection: WsConnection) => void)[] = [];
  const live = new Set<WsConnection>();
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url === '/missing') {
      rejectUpgrade(socket, 404, 'RESOURCE_NOT_FOUND', 'Unknown path /missing');
      return;
    }
    const connection = acceptWebSocket(req, socket, head, { ...DEFAULT_TEST_OPTIONS, ...options });
    if (connection === undefined) return;
    live.add(connection);
    connection.on('close', () => live.delete(connection));
    const waiter = waiting.shift();
    if (waiter) waiter(connection);
    else accepted.push(connection);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    nextConnection: () => {
      const ready = accepted.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    close: async () => {
      for (const connection of live) connection.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function upgradeRequest(path: string, extraHeaders: Record<string, string> = {}): string {
  const headers: Record<string, string> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...extraHeaders,
  };
  const lines = Object.entries(headers)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}: ${value}`);
  return `GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/** A raw TCP client that collects everything the server sends. */
export class RawClient {
  readonly socket: Socket;
  private received: Buffer[] = [];
  private readonly ended: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.received.push(chunk));
    socket.on('error', () => {}); // resets are expected in some tests
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  get data(): Buffer {
    return Buffer.concat(this.received);
  }

  /** Resolves once the received bytes contain `marker` (latin1); returns the offset just past it. */
  async waitFor(marker: string): Promise<number> {
    const needle = Buffer.from(marker, 'latin1');
    for (;;) {
      const index = this.data.indexOf(needle);
      if (index >= 0) return index + needle.length;
      if (this.socket.destroyed) throw new Error(`Connection closed before ${JSON.stringify(marker)}`);
      await Promise.race([once(this.socket, 'data'), this.ended]);
    }
  }

  /** Resolves with everything received once the server has closed the connection. */
  async untilClosed(): Promise<Buffer> {
    this.socket.resume();
    await this.ended;
    return this.data;
  }
}

/**
 * A raw peer past the opening handshake whose socket is paused: it reads nothing more
 * unless the test calls `socket.read()` (what a peer that never reads looks like).
 */
export async function connectPausedPeer(server: WsTestServer): Promise<{ socket: Socket; connection: WsConnection }> {
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => {}); // resets are expected
  await once(socket, 'connect');
  socket.pause();
  socket.write(upgradeRequest('/'));
  const connection = await server.nextConnection();
  let head = Buffer.alloc(0);
  while (head.indexOf('\r\n\r\n') < 0) {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) await once(socket, 'readable');
    else head = Buffer.concat([head, chunk]);
  }
  // Bytes past the response head would be frames; the server sends none before the test does.
  return { socket, connection };
}

/** Resolves once `condition` holds, checking every few ms; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('Condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The error `promise` rejects with (fails if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected the promise to reject');
}

/** `total` random bytes in pieces of `pieceBytes`, generated as read; each piece is fed to `hash`. */
export function randomSource(total: number, pieceBytes: number, hash: Hash): Readable {
  let produced = 0;
  return new Readable({
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const piece = randomBytes(Math.min(pieceBytes, total - produced));
      produced += piece.length;
      hash.update(piece);
      this.push(piece);
    },
  });
}
