/**
 * Followers catching up from offset 0 (half of them stalled), on a worker thread of the
 * benchmark process: reading a thousand sockets must not take the uploader's thread.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { type RawData, WebSocket } from 'ws';
import { RawSpoolFollower } from './raw-spool-follower.js';
import { connectFollowers } from './scenarios/follow-latency.js';

/** Step followers ask for at most this much per RequestChunk. */
const STEP_CHUNK_BYTES = 1024 * 1024;

interface Setup {
  wsUrl: string;
  id: string;
  kind: FollowerKind;
  count: number;
}

/**
 * `spool`: pushed from offset 0; `step`: request/reply from offset 0; `watch`: Spool
 * resource connections that only hear statuses (no bytes: what the followers cost
 * before any catch-up read).
 */
export type FollowerKind = 'spool' | 'step' | 'watch';

interface Reader {
  bytes(): number;
  close(): void;
}

/** A Spool follower from `from` (pushed; undefined: statuses only); a stalled one stops reading its socket once connected. */
function spoolReader(wsUrl: string, id: string, stalled: boolean, from: number | undefined): { reader: Reader; connected: Promise<void> } {
  const follower = new RawSpoolFollower(`${wsUrl}/ws/spool/v1/resources/${id}`, from, {
    onBytes: () => undefined,
    onEnd: () => undefined,
    onError: () => undefined,
  });
  const connected = follower.connect().then(() => {
    if (stalled) follower.stall();
  });
  return { reader: { bytes: () => follower.bytes, close: () => follower.close() }, connected };
}

/**
 * A Step follower (request/reply, as Step's Java download stream reads a growing resource):
 * one RequestChunk at a time up to the size the last StatusChanged announced. A stalled
 * one asks once and never reads.
 */
function stepReader(wsUrl: string, id: string, stalled: boolean): { reader: Reader; connected: Promise<void> } {
  const ws = new WebSocket(`${wsUrl}/ws/streaming/download/${id}`, { perMessageDeflate: false, maxPayload: 0 });
  let size = 0;
  let asked = 0;
  let received = 0;
  let waiting = false;
  const ask = () => {
    if (waiting || asked >= size || ws.readyState !== WebSocket.OPEN) return;
    const end = Math.min(size, asked + STEP_CHUNK_BYTES);
    ws.send(JSON.stringify({ '@': 'RequestChunk', startOffset: asked, endOffset: end }));
    asked = end;
    waiting = true;
    if (stalled) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  };
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      received += (data as Buffer).length;
      if (received >= asked) waiting = false;
    } else {
      const status = JSON.parse(data.toString()) as { resourceStatus?: { currentSize: number } };
      size = Math.max(size, status.resourceStatus?.currentSize ?? 0);
    }
    ask();
  });
  ws.on('error', () => undefined);
  const connected = new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
  return { reader: { bytes: () => received, close: () => ws.terminate() }, connected };
}

/** Starts `count` followers on a worker thread; resolves once all are connected. `stop()` closes them and says how many bytes they got. */
export async function startCatchUpFollowers(
  wsUrl: string,
  id: string,
  kind: FollowerKind,
  count: number,
): Promise<{ stop(): Promise<number> }> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { wsUrl, id, kind, count } satisfies Setup });
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  const message = () => Promise.race([new Promise<number>((resolve) => worker.once('message', resolve)), failed]);
  await message();
  let stopped: Promise<number> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        const bytes = message();
        worker.postMessage('stop');
        const total = await bytes;
        await worker.terminate();
        return total;
      })();
      return stopped;
    },
  };
}

async function runWorker(setup: Setup): Promise<void> {
  const readers: Reader[] = [];
  await connectFollowers(setup.count, (i) => {
    const stalled = i % 2 === 1;
    const { reader, connected } =
      setup.kind === 'step'
        ? stepReader(setup.wsUrl, setup.id, stalled)
        : spoolReader(setup.wsUrl, setup.id, stalled, setup.kind === 'spool' ? 0 : undefined);
    readers.push(reader);
    return { connected, done: connected.then(() => ({ sha256: '', bytes: 0, records: 0 })) };
  });
  parentPort?.postMessage(0);
  parentPort?.once('message', () => {
    const total = readers.reduce((sum, r) => sum + r.bytes(), 0);
    for (const reader of readers) reader.close();
    parentPort?.postMessage(total);
  });
}

if (!isMainThread && (workerData as Setup | undefined)?.kind) void runWorker(workerData as Setup);
