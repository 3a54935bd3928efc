import { once } from 'node:events';
import { type RawData, WebSocket } from 'ws';
import type { Pattern } from './pattern.js';
import { END_COMMAND, type PeerSummary } from './peers/peer-common.js';
import { verify } from './scenario.js';

/** Size of the binary messages plain `ws` peers exchange. */
export const PLAIN_MESSAGE_BYTES = 1024 * 1024;
/** Bytes handed to `ws` but not yet written to the socket before the sender waits. */
const SEND_WINDOW_BYTES = 8 * PLAIN_MESSAGE_BYTES;

async function connect(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await once(ws, 'open');
  return ws;
}

function nextText(ws: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: RawData, isBinary: boolean) => {
      if (isBinary) return;
      cleanup();
      resolve(data.toString());
    };
    const onClose = (code: number) => {
      cleanup();
      reject(new Error(`connection closed (${code}) before the peer's summary`));
    };
    const cleanup = () => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

async function closeNormally(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, 'close');
  ws.close(1000);
  await closed;
}

/**
 * Sends the first `total` bytes of the pattern as 1 MiB binary messages (at most 8 MiB
 * waiting in `ws`), then "end", and returns the peer's summary once it answered (for the
 * file peer: once everything is in the file).
 */
export async function sendOverPlainWs(url: string, pattern: Pattern, total: number): Promise<PeerSummary> {
  const ws = await connect(url);
  let inFlightBytes = 0;
  let sendError: Error | undefined;
  let windowOpened: (() => void) | undefined;
  const onSent = (length: number) => (error?: Error) => {
    inFlightBytes -= length;
    if (error) sendError ??= error;
    if (inFlightBytes <= SEND_WINDOW_BYTES || sendError) {
      const resume = windowOpened;
      windowOpened = undefined;
      resume?.();
    }
  };
  for (const message of pattern.chunks(total, PLAIN_MESSAGE_BYTES)) {
    if (sendError) throw sendError;
    inFlightBytes += message.length;
    ws.send(message, { binary: true }, onSent(message.length));
    while (inFlightBytes > SEND_WINDOW_BYTES && !sendError) {
      await new Promise<void>((resolve) => {
        windowOpened = resolve;
      });
    }
  }
  if (sendError) throw sendError;
  const reply = nextText(ws);
  ws.send(END_COMMAND);
  const summary = JSON.parse(await reply) as PeerSummary;
  await closeNormally(ws);
  return summary;
}

export interface ReceiveSummary {
  bytes: number;
  messages: number;
  /** Every byte matched the pattern at its offset. */
  contentMatches: boolean;
  /** What the sender said it sent. */
  peer: PeerSummary;
}

/**
 * Receives binary messages until the peer's text summary, checking every byte against the
 * pattern at its offset (one memcmp per MiB: cheap next to the transfer).
 */
export async function receiveOverPlainWs(url: string, pattern: Pattern): Promise<ReceiveSummary> {
  const ws = await connect(url);
  let bytes = 0;
  let messages = 0;
  let contentMatches = true;
  const summary = new Promise<PeerSummary>((resolve, reject) => {
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        resolve(JSON.parse(data.toString()) as PeerSummary);
        return;
      }
      const message = data as Buffer;
      if (contentMatches && !pattern.matches(bytes, message)) contentMatches = false;
      bytes += message.length;
      messages++;
    });
    ws.once('close', (code: number) => reject(new Error(`connection closed (${code}) before the peer's summary`)));
  });
  const peer = await summary;
  await closeNormally(ws);
  verify(peer.bytes === bytes, `peer sent ${peer.bytes} bytes, ${bytes} arrived`);
  return { bytes, messages, contentMatches, peer };
}
