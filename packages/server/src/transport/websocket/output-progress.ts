import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** The libuv handle behind a net.Socket: `writeQueueSize` is read live from libuv (Node's own socket timeout uses it). */
interface StreamHandle {
  readonly writeQueueSize?: number;
}

/**
 * Tells whether the peer has taken any of our output since the last look: the proof of
 * life of a peer that reads slowly, whose pong may sit behind megabytes of data.
 *
 * Only output that was backed up counts: the kernel accepts small writes whatever the peer
 * does, until its buffers are full; once they are, it accepts more only as the peer reads.
 * A write completes when all of it is accepted (`bytesWritten - writableLength` grows then),
 * which for a 1 MiB write to a slow reader can take minutes; meanwhile libuv's queue for
 * that write shrinks as the kernel takes more (`writeQueueSize`). The kernel makes room in
 * steps (about a third of its send buffer), so progress is seen in steps of that size.
 */
export class OutputProgress {
  readonly #socket: Socket | undefined;
  /** At the last look: bytes of completed writes, bytes left of the write under way, bytes not yet accepted. */
  #completed = 0;
  #queued = 0;
  #pending = 0;

  constructor(socket: Duplex) {
    this.#socket = socket instanceof Socket ? socket : undefined;
  }

  /**
   * Since the last look: `advanced` if output that was waiting then has been accepted by
   * the kernel, `stalled` if it was waiting and none of it has, `idle` if none was waiting
   * (no evidence either way: what we sent since may just not have been due yet).
   */
  look(): 'advanced' | 'stalled' | 'idle' {
    const socket = this.#socket;
    if (socket === undefined) return 'idle';
    const completed = (socket.bytesWritten ?? 0) - socket.writableLength;
    const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
    const queued = handle?.writeQueueSize ?? 0;
    // A new write only starts once the previous one completed, so with `completed`
    // unchanged a smaller queue is the same write progressing.
    const accepted = completed > this.#completed || (completed === this.#completed && queued < this.#queued);
    const result = this.#pending === 0 ? 'idle' : accepted ? 'advanced' : 'stalled';
    this.#completed = completed;
    this.#queued = queued;
    this.#pending = socket.writableLength;
    return result;
  }
}
