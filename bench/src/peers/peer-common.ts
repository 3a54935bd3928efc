import type { AddressInfo } from 'node:net';
import { type RawData, WebSocketServer } from 'ws';
import { plainWsMasking } from '../masking.js';

/** Largest message the plain peers accept (the benchmark sends 1 MiB messages). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * A plain `ws` server on 127.0.0.1 (free port, no compression) that prints
 * `{"url":"ws://127.0.0.1:PORT","wsMasking":"…"}` on stdout once listening (with how its `ws`
 * masks/unmasks, see plainWsMasking), and exits on SIGTERM.
 */
export function startPlainWsServer(): Promise<WebSocketServer> {
  return new Promise((resolve, reject) => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES });
    server.once('error', reject);
    server.once('listening', () => {
      const { port } = server.address() as AddressInfo;
      process.stdout.write(`${JSON.stringify({ url: `ws://127.0.0.1:${port}`, wsMasking: plainWsMasking() })}\n`);
      resolve(server);
    });
    process.once('SIGTERM', () => {
      for (const client of server.clients) client.terminate();
      server.close(() => process.exit(0));
    });
  });
}

/** Bytes in a received message, whatever form `ws` delivered it in. */
export function rawDataLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data.byteLength;
}

/** The text command that ends a benchmark transfer; the peer answers with a JSON summary. */
export const END_COMMAND = 'end';

/** What a plain peer reports at the end of a transfer. */
export interface PeerSummary {
  bytes: number;
  messages: number;
}

/** The masking a plain peer process reported when it started (see {@link startPlainWsServer}). */
export function reportedPeerMasking(peerOutput: string): string {
  return /"wsMasking":"([^"]+)"/.exec(peerOutput)?.[1] ?? 'unknown';
}
