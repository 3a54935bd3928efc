/**
 * Worker side of OffThreadHash: hashes slices of a ring buffer shared with the main
 * thread and acknowledges each one, so the main thread can reuse that ring space.
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

export interface HashWorkerData {
  ring: SharedArrayBuffer;
}

export type HashRequest =
  /** `length` bytes of ring space to release once done; the data in them at `segments` ([start, end) pairs). */
  | { type: 'update'; id: number; algorithm: string; length: number; segments: number[] }
  | { type: 'digest'; id: number; algorithm: string }
  | { type: 'drop'; id: number };

export type HashReply = { type: 'ack'; length: number } | { type: 'digest'; id: number; hex: string };

const ring = new Uint8Array((workerData as HashWorkerData).ring);
const hashes = new Map<number, Hash>();

function hashFor(id: number, algorithm: string): Hash {
  let hash = hashes.get(id);
  if (!hash) {
    hash = createHash(algorithm);
    hashes.set(id, hash);
  }
  return hash;
}

parentPort?.on('message', (request: HashRequest) => {
  switch (request.type) {
    case 'update': {
      const hash = hashFor(request.id, request.algorithm);
      const { segments } = request;
      for (let i = 0; i < segments.length; i += 2) hash.update(ring.subarray(segments[i], segments[i + 1]));
      parentPort?.postMessage({ type: 'ack', length: request.length } satisfies HashReply);
      break;
    }
    case 'digest': {
      const hex = hashFor(request.id, request.algorithm).digest('hex');
      hashes.delete(request.id);
      parentPort?.postMessage({ type: 'digest', id: request.id, hex } satisfies HashReply);
      break;
    }
    case 'drop':
      hashes.delete(request.id);
      break;
  }
});
