import { once } from 'node:events';
import { type RawData, WebSocket } from 'ws';
import type { Pattern } from './pattern.js';

/** Bytes handed to `ws` but not yet written to the socket before the sender waits. */
const SEND_WINDOW_BYTES = 8 * 1024 * 1024;

export interface RawStepUploadResult {
  resourceId: string;
  size: number;
  checksum: string;
  lines: number | null;
}

interface StepReply {
  '@': string;
  reference?: { uri: string };
  size?: number;
  checksum?: string;
  numberOfLines?: number | null;
}

/**
 * A Step upload written against the wire, like the Java client does it (not the SDK):
 * StartUpload, one binary message of `frameBytes` (≤ 1 MiB) frames ending with an
 * empty FIN frame, FinishUpload with the MD5, UploadAcknowledged, close 1000 "Upload
 * completed". The MD5 is the pattern's, computed beforehand: the client spends nothing
 * on hashing, so this measures what the server can take.
 */
export async function rawStepUpload(wsBaseUrl: string, pattern: Pattern, total: number, frameBytes: number): Promise<RawStepUploadResult> {
  const checksum = pattern.md5(total);
  const ws = new WebSocket(`${wsBaseUrl}/ws/streaming/upload`, { perMessageDeflate: false });
  const replies: StepReply[] = [];
  let replyArrived: (() => void) | undefined;
  let closed: { code: number; reason: string } | undefined;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (!isBinary) replies.push(JSON.parse(data.toString()) as StepReply);
    replyArrived?.();
  });
  ws.on('close', (code: number, reason: Buffer) => {
    closed = { code, reason: reason.toString() };
    replyArrived?.();
  });
  ws.on('error', () => undefined); // reported through 'close'
  const nextReply = async (type: string): Promise<StepReply> => {
    while (replies.length === 0) {
      if (closed) throw new Error(`upload closed (${closed.code} ${closed.reason}) while waiting for ${type}`);
      await new Promise<void>((resolve) => {
        replyArrived = resolve;
      });
    }
    const reply = replies.shift() as StepReply;
    if (reply['@'] !== type) throw new Error(`expected ${type}, got ${reply['@']}`);
    return reply;
  };
  await once(ws, 'open');
  ws.send(JSON.stringify({ '@': 'StartUpload', metadata: { filename: 'bench.log', mimeType: 'text/plain', supportsLineAccess: true } }));
  const ready = await nextReply('ReadyForUpload');
  const resourceId = ready.reference?.uri.split('/').pop() ?? '';

  let inFlightBytes = 0;
  let windowOpened: (() => void) | undefined;
  for (const frame of pattern.chunks(total, frameBytes)) {
    if (closed) throw new Error(`upload closed (${closed.code} ${closed.reason}) while sending`);
    inFlightBytes += frame.length;
    ws.send(frame, { binary: true, fin: false }, () => {
      inFlightBytes -= frame.length;
      if (inFlightBytes <= SEND_WINDOW_BYTES) {
        const resume = windowOpened;
        windowOpened = undefined;
        resume?.();
      }
    });
    while (inFlightBytes > SEND_WINDOW_BYTES && !closed) {
      await new Promise<void>((resolve) => {
        windowOpened = resolve;
      });
    }
  }
  ws.send(Buffer.alloc(0), { binary: true, fin: true });
  ws.send(JSON.stringify({ '@': 'FinishUpload', checksum }));
  const ack = await nextReply('UploadAcknowledged');
  const closing = once(ws, 'close');
  ws.close(1000, 'Upload completed');
  await closing;
  return { resourceId, size: ack.size ?? -1, checksum: ack.checksum ?? '', lines: ack.numberOfLines ?? null };
}
