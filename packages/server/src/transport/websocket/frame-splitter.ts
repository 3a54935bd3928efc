import { Opcode } from './opcodes.js';

/** A piece of payload to write; `header` is set on the piece that opens a frame. */
export interface FramePiece {
  readonly header: { readonly opcode: Opcode; readonly fin: boolean; readonly length: number } | undefined;
  readonly payload: Buffer;
  /** This piece completes its frame: control frames may be written after it. */
  readonly endsFrame: boolean;
}

/**
 * Cuts a binary message of known `length`, arriving as chunks of any size, into frames of
 * at most `maxFrameBytes` whose headers announce their whole length before their payload
 * exists. The peer then gets one frame per message up to that size (`ws` copies a
 * fragmented message once more to join it), and a close or ping waits at most one frame.
 */
export class FrameSplitter {
  #sent = 0;
  /** Payload bytes still due in the frame being written. */
  #frameRemaining = 0;
  #frames = 0;

  constructor(
    readonly length: number,
    readonly maxFrameBytes: number,
  ) {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`Invalid message length ${length}`);
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes <= 0) throw new RangeError(`Invalid frame size ${maxFrameBytes}`);
  }

  /** Payload bytes cut so far. */
  get sent(): number {
    return this.#sent;
  }

  get complete(): boolean {
    return this.#sent === this.length;
  }

  /** A frame is open: its header is out, part of its payload is not. */
  get inFrame(): boolean {
    return this.#frameRemaining > 0;
  }

  /** Frames begun so far. */
  get frames(): number {
    return this.#frames;
  }

  /**
   * The pieces of `chunk`, cut at frame boundaries (views, never copies).
   * @throws RangeError if `chunk` goes past `length` (nothing is cut then).
   */
  split(chunk: Buffer): FramePiece[] {
    if (this.#sent + chunk.length > this.length) {
      throw new RangeError(`Message source yielded more than the ${this.length} bytes announced`);
    }
    const pieces: FramePiece[] = [];
    let at = 0;
    while (at < chunk.length) {
      let header: FramePiece['header'];
      if (this.#frameRemaining === 0) {
        const frameLength = Math.min(this.maxFrameBytes, this.length - this.#sent);
        header = {
          opcode: this.#frames === 0 ? Opcode.BINARY : Opcode.CONTINUATION,
          fin: this.#sent + frameLength === this.length,
          length: frameLength,
        };
        this.#frameRemaining = frameLength;
        this.#frames++;
      }
      const take = Math.min(this.#frameRemaining, chunk.length - at);
      const payload = at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take);
      at += take;
      this.#sent += take;
      this.#frameRemaining -= take;
      pieces.push({ header, payload, endsFrame: this.#frameRemaining === 0 });
    }
    return pieces;
  }
}
