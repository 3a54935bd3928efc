import { once } from 'node:events';
import { type RawData, WebSocket } from 'ws';

interface StepStatusMessage {
  '@': 'StatusChanged';
  resourceStatus: { transferStatus: string; currentSize: number };
}

export interface RawStepDownloadOptions {
  /** Bytes asked per RequestChunk. */
  chunkBytes: number;
  /** RequestChunks outstanding at once (the Step server answers them in order). */
  requestsInFlight: number;
  /** Largest message accepted (0 = unlimited). */
  maxPayload: number;
}

/**
 * A Step download written against the wire (not the SDK): waits for the first
 * StatusChanged (which must say COMPLETED), then asks for `[0, size)` in RequestChunks of
 * `chunkBytes`, keeping `requestsInFlight` of them outstanding, and hands each reply to
 * `onChunk` with its offset. Resolves with the size once every reply arrived.
 */
export async function rawStepDownload(
  uri: string,
  options: RawStepDownloadOptions,
  onChunk: (offset: number, bytes: Buffer) => void,
): Promise<number> {
  const ws = new WebSocket(uri, { perMessageDeflate: false, maxPayload: options.maxPayload });
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const replies: Buffer[] = [];
  let status: StepStatusMessage | undefined;
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) replies.push(data as Buffer);
    else status ??= JSON.parse(data.toString()) as StepStatusMessage;
    wake?.();
  });
  ws.on('error', (error: Error) => {
    failure ??= error;
  });
  ws.on('close', (code: number, reason: Buffer) => {
    failure ??= new Error(`connection closed (${code} ${reason.toString()})`);
    wake?.();
  });
  const waitForMessage = async () => {
    if (failure) throw failure;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = undefined;
    if (failure && replies.length === 0) throw failure;
  };
  while (!status) await waitForMessage();
  const { transferStatus, currentSize: size } = status.resourceStatus;
  if (transferStatus !== 'COMPLETED') throw new Error(`resource is ${transferStatus}`);

  let nextRequest = 0;
  let received = 0;
  const request = () => {
    const end = Math.min(size, nextRequest + options.chunkBytes);
    ws.send(JSON.stringify({ '@': 'RequestChunk', startOffset: nextRequest, endOffset: end }));
    nextRequest = end;
  };
  for (let i = 0; i < options.requestsInFlight && nextRequest < size; i++) request();
  while (received < size) {
    while (replies.length === 0) await waitForMessage();
    const reply = replies.shift() as Buffer;
    onChunk(received, reply);
    received += reply.length;
    if (nextRequest < size) request();
  }
  const closed = once(ws, 'close');
  ws.close(1000);
  await closed;
  return received;
}
