import {
  HSP_MAGIC,
  HSP_VERSION_OFFSET,
  type HspFrameLengths,
  type HspPacket,
  HspPacketError,
  hspVersion,
  parseHeaderBlock,
} from './packet.js';

/** What a reader accepts: checked against each packet's declared lengths before any byte of it is kept. */
export interface HspParserLimits {
  maxHeaderBytes: number;
  maxPayloadBytes: number;
}

const MAGIC = Buffer.alloc(4);
MAGIC.writeUInt32BE(HSP_MAGIC, 0);

interface Pending extends HspFrameLengths {
  readonly version: number;
  readonly preambleBytes: number;
  headers?: Map<string, string>;
}

/**
 * A streaming packet reader: `push` bytes as they arrive (any split), take packets with
 * `next`. Every check happens as soon as its bytes are there — the magic byte by byte,
 * the version, the declared lengths against the limits (before any of the block or
 * payload is kept), the header block before its payload arrives — so garbage is refused
 * at once, and nothing is allocated for a length nobody sent. Bytes after a packet stay
 * buffered: `takeBytes` hands them out raw (an HSP stream request's data follows its
 * packet unframed).
 *
 * It holds what was pushed and not yet taken: the caller bounds that by pausing its
 * source while it handles a packet (see `buffered`).
 */
export class HspPacketParser {
  private chunks: Buffer[] = [];
  private size = 0;
  private pending: Pending | undefined;

  constructor(private readonly limits: HspParserLimits) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Bytes held, not yet returned. */
  get buffered(): number {
    return this.size;
  }

  /** True while a packet has started and is not complete (its first byte arrived). */
  get inPacket(): boolean {
    return this.size > 0 || this.pending !== undefined;
  }

  /** Where an incomplete packet stands, for an error when its connection ends: `17 of 53 bytes`. */
  describeProgress(): string {
    const pending = this.pending;
    if (!pending) return `${this.size} bytes of a packet preamble`;
    const total = pending.preambleBytes + pending.headerBytes + pending.payloadBytes;
    const got = pending.preambleBytes + (pending.headers ? pending.headerBytes : 0) + this.size;
    return `${got} of ${total} bytes of a packet`;
  }

  /** The next complete packet, or undefined until more bytes arrive. Throws HspPacketError. */
  next(): HspPacket | undefined {
    const pending = this.pending ?? this.readPreamble();
    if (!pending) return undefined;
    if (!pending.headers) {
      if (this.size < pending.headerBytes) return undefined;
      pending.headers = parseHeaderBlock(this.take(pending.headerBytes));
    }
    if (this.size < pending.payloadBytes) return undefined;
    const payload = this.take(pending.payloadBytes);
    this.pending = undefined;
    return { version: pending.version, flags: pending.flags, headers: pending.headers, payload };
  }

  /** Up to `max` raw bytes held (outside any packet), in the order received; [] when none. */
  takeBytes(max: number): Buffer[] {
    if (this.pending) throw new Error('takeBytes in the middle of a packet');
    const out: Buffer[] = [];
    let left = max;
    while (left > 0 && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const part = first.length <= left ? first : first.subarray(0, left);
      out.push(part);
      this.consume(part.length);
      left -= part.length;
    }
    return out;
  }

  private readPreamble(): Pending | undefined {
    const magicSeen = Math.min(this.size, MAGIC.length);
    if (magicSeen > 0 && !this.peek(magicSeen).equals(MAGIC.subarray(0, magicSeen))) {
      throw new HspPacketError(`Not an HSP packet: bad magic (expected 0xDEADBEEF, got 0x${this.peek(magicSeen).toString('hex')})`);
    }
    if (this.size <= HSP_VERSION_OFFSET) return undefined;
    const version = (this.peek(HSP_VERSION_OFFSET + 1)[HSP_VERSION_OFFSET] as number) & 0xff;
    const codec = hspVersion(version);
    if (this.size < codec.preambleBytes) return undefined;
    const lengths = codec.readLengths(this.peek(codec.preambleBytes));
    const { maxHeaderBytes, maxPayloadBytes } = this.limits;
    if (lengths.headerBytes === 0) throw new HspPacketError('HSP header block is empty: it ends with an empty line (at least 1 byte)');
    if (lengths.headerBytes > maxHeaderBytes) {
      throw new HspPacketError(`HSP header block of ${lengths.headerBytes} bytes is over this server's limit of ${maxHeaderBytes}`);
    }
    if (lengths.payloadBytes > maxPayloadBytes) {
      throw new HspPacketError(`HSP payload of ${lengths.payloadBytes} bytes is over this server's limit of ${maxPayloadBytes}`);
    }
    this.consume(codec.preambleBytes);
    this.pending = { ...lengths, version, preambleBytes: codec.preambleBytes };
    return this.pending;
  }

  /** The first `n` bytes held (n ≤ size), without taking them; copies only across chunks. */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks, Math.max(n, 0)).subarray(0, n);
  }

  /** Takes the first `n` bytes held (n ≤ size) as one buffer. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const out = this.peek(n);
    this.consume(n);
    return out;
  }

  private consume(n: number): void {
    let left = n;
    this.size -= n;
    while (left > 0) {
      const first = this.chunks[0] as Buffer;
      if (first.length > left) {
        this.chunks[0] = first.subarray(left);
        return;
      }
      this.chunks.shift();
      left -= first.length;
    }
  }
}
