import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { HashReply, HashRequest, HashWorkerData } from './hash-worker.js';

/** Bytes shared with the hash worker: the most that can wait to be hashed, process-wide. */
const RING_BYTES = 4 * 1024 * 1024;
/**
 * A slice is handed over once this large (or at a digest, a change of owner, the ring's
 * end): every message wakes the worker thread — a context switch that, on a busy 2-core
 * machine, cost the event loop more than the copy. A partial slice waits for the next
 * bytes; LOW_WATER ≥ SLICE_BYTES, so callers waiting for 'drain' never wait on it.
 */
const SLICE_BYTES = 1024 * 1024;
/** Callers are asked to wait above the high mark and released below the low mark. */
const HIGH_WATER = (RING_BYTES * 3) / 4;
const LOW_WATER = RING_BYTES / 4;

interface PendingDigest {
  resolve: (hex: string) => void;
  reject: (err: Error) => void;
}

interface Queued {
  hash: OffThreadHash;
  data: Uint8Array;
}

/**
 * One worker thread and one shared ring buffer for every OffThreadHash of the process.
 * Hashing (MD5 runs at ~420 MiB/s on one core here) would otherwise take the event loop's
 * thread from parsing, disk writes and every other session. The ring keeps memory fixed
 * whatever the number of uploads: bytes are copied into it (no allocation per chunk) and
 * the worker hashes them in place. Messages are processed in order, so ring space is
 * reclaimed in order: `tail` follows acknowledgements.
 */
class HashWorkerPool {
  private worker: Worker | undefined;
  private ring: Uint8Array | undefined;
  private head = 0;
  private used = 0;
  /** Ring space [sliceStart, head) taken for `sliceOwner`, not yet posted: its data at `segments`, the rest padding. */
  private sliceOwner: OffThreadHash | undefined;
  private sliceStart = 0;
  /** [start, end) pairs, flat. */
  private segments: number[] = [];
  private nextId = 1;
  private users = 0;
  /** Data that did not fit in the ring yet, in arrival order (the callers' buffers, not copies). */
  private readonly backlog: Queued[] = [];
  private backlogBytes = 0;
  private readonly waiting = new Set<OffThreadHash>();
  private readonly digests = new Map<number, PendingDigest>();
  private readonly members = new Set<OffThreadHash>();

  register(hash: OffThreadHash): number {
    this.members.add(hash);
    this.users++;
    return this.nextId++;
  }

  release(hash: OffThreadHash): void {
    if (!this.members.delete(hash)) return;
    this.waiting.delete(hash);
    if (--this.users === 0 && this.digests.size === 0) this.worker?.unref();
  }

  /** Accepts data; false when the caller should wait for its 'drain'. */
  update(hash: OffThreadHash, data: Uint8Array): boolean {
    this.backlog.push({ hash, data });
    this.backlogBytes += data.length;
    this.pump();
    if (this.backlogBytes > 0 || this.used > HIGH_WATER) {
      this.waiting.add(hash);
      return false;
    }
    return true;
  }

  digest(hash: OffThreadHash): Promise<string> {
    return new Promise((resolve, reject) => {
      this.digests.set(hash.id, { resolve, reject });
      // Queued behind the hash's own data, so the digest covers every byte.
      this.backlog.push({ hash, data: DIGEST_MARK });
      this.pump();
    });
  }

  drop(hash: OffThreadHash): void {
    this.backlog.push({ hash, data: DROP_MARK });
    this.pump();
  }

  accepting(hash: OffThreadHash): boolean {
    return !this.waiting.has(hash);
  }

  pendingBytes(): number {
    return this.used + this.backlogBytes;
  }

  /** Moves backlog into the ring while it has room; slices are posted when large (see SLICE_BYTES). */
  private pump(): void {
    const worker = this.ensureWorker();
    const ring = this.ring as Uint8Array;
    while (this.backlog.length > 0) {
      const item = this.backlog[0] as Queued;
      if (item.data === DIGEST_MARK || item.data === DROP_MARK) {
        this.postSlice();
        this.backlog.shift();
        const request: HashRequest =
          item.data === DIGEST_MARK
            ? { type: 'digest', id: item.hash.id, algorithm: item.hash.algorithm }
            : { type: 'drop', id: item.hash.id };
        worker.ref();
        worker.postMessage(request);
        continue;
      }
      if (this.sliceOwner !== item.hash) this.postSlice();
      // Copy to the same alignment (mod 8) as the source: V8 copies into shared memory
      // byte by byte otherwise (~1 GB/s instead of ~6); the skipped bytes are padding.
      const pad = (item.data.byteOffset - this.head) & 7;
      const free = RING_BYTES - this.used;
      if (this.head + pad >= RING_BYTES) {
        // No room for the padding and a byte before the ring's end: pad to the end.
        if (free < RING_BYTES - this.head) break;
        this.take(item.hash, RING_BYTES - this.head);
        this.postSlice();
        continue;
      }
      if (free <= pad) break;
      this.take(item.hash, pad);
      // Contiguous room from head: up to the ring's end, and never over unacknowledged bytes.
      const length = Math.min(item.data.length, free - pad, RING_BYTES - this.head);
      ring.set(item.data.subarray(0, length), this.head);
      const segments = this.segments;
      if (segments[segments.length - 1] === this.head) segments[segments.length - 1] = this.head + length;
      else segments.push(this.head, this.head + length);
      this.take(item.hash, length);
      this.backlogBytes -= length;
      if (length === item.data.length) this.backlog.shift();
      else item.data = item.data.subarray(length);
      // A slice never wraps: post it at the ring's end, or once it is large enough.
      if (this.head === RING_BYTES || this.head - this.sliceStart >= SLICE_BYTES) this.postSlice();
    }
  }

  /** Takes `length` bytes of ring space at head for `owner`'s slice. */
  private take(owner: OffThreadHash, length: number): void {
    this.sliceOwner = owner;
    this.head += length;
    this.used += length;
  }

  private postSlice(): void {
    const owner = this.sliceOwner;
    if (!owner || !this.worker) return;
    const length = this.head - this.sliceStart;
    this.worker.ref();
    this.worker.postMessage({
      type: 'update',
      id: owner.id,
      algorithm: owner.algorithm,
      length,
      segments: this.segments,
    } satisfies HashRequest);
    this.segments = [];
    if (this.head === RING_BYTES) this.head = 0;
    this.sliceStart = this.head;
    this.sliceOwner = undefined;
  }

  private onAck(length: number): void {
    this.used -= length;
    this.pump();
    if (this.backlogBytes === 0 && this.used <= LOW_WATER && this.waiting.size > 0) {
      const ready = [...this.waiting];
      this.waiting.clear();
      for (const hash of ready) hash.emit('drain');
    }
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const ring = new SharedArrayBuffer(RING_BYTES);
    this.ring = new Uint8Array(ring);
    this.head = 0;
    this.used = 0;
    this.sliceStart = 0;
    this.sliceOwner = undefined;
    this.segments = [];
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), { workerData: { ring } satisfies HashWorkerData });
    worker.on('message', (reply: HashReply) => {
      if (reply.type === 'ack') {
        this.onAck(reply.length);
        return;
      }
      const pending = this.digests.get(reply.id);
      this.digests.delete(reply.id);
      pending?.resolve(reply.hex);
      if (this.users === 0 && this.digests.size === 0) worker.unref();
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.failAll(new Error(`hash worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    this.worker = undefined;
    this.backlog.length = 0;
    this.backlogBytes = 0;
    for (const pending of this.digests.values()) pending.reject(err);
    this.digests.clear();
    for (const hash of this.members) hash.fail(err);
  }
}

const DIGEST_MARK = new Uint8Array(0);
const DROP_MARK = new Uint8Array(0);
const pool = new HashWorkerPool();

/**
 * An incremental hash computed on a worker thread, with back-pressure: `update` returns
 * false while the shared ring is more than 3/4 full; wait for 'drain'. Do not modify a
 * buffer after passing it to `update` (it may be copied later, when ring space frees).
 */
export class OffThreadHash extends EventEmitter {
  /** @internal */
  readonly id: number;
  private error: Error | undefined;
  private finished = false;

  constructor(readonly algorithm: string = 'md5') {
    super();
    this.id = pool.register(this);
  }

  /** Bytes of all hashes of the process waiting to be hashed (the ring and its backlog). */
  get pendingBytes(): number {
    return pool.pendingBytes();
  }

  /** False while the caller should wait for 'drain' before more updates. */
  get accepting(): boolean {
    return pool.accepting(this);
  }

  update(data: Uint8Array): boolean {
    if (this.error) throw this.error;
    if (this.finished) throw new Error('OffThreadHash.update after digest');
    if (data.length === 0) return this.accepting;
    return pool.update(this, data);
  }

  /** Resolves with the lowercase hex digest of everything updated; the hash is then done. */
  async digest(): Promise<string> {
    if (this.error) throw this.error;
    if (this.finished) throw new Error('OffThreadHash.digest called twice');
    this.finished = true;
    try {
      return await pool.digest(this);
    } finally {
      pool.release(this);
    }
  }

  /** Forgets the hash without a digest (upload abandoned). */
  destroy(): void {
    if (this.finished) return;
    this.finished = true;
    pool.drop(this);
    pool.release(this);
  }

  /** @internal called by the pool when the worker died. */
  fail(err: Error): void {
    this.error = err;
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
