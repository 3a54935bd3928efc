import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Shared by every follower of this process: `onread` consumers run one at a time. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface RawFollowerEvents {
  /** Pushed bytes arrived (a whole frame's payload) at `offset`; `bytes` is valid during the call only. */
  onBytes(offset: number, bytes: Buffer): void;
  /** A terminal status arrived and every byte up to its size had been pushed. */
  onEnd(size: number): void;
  onError(error: Error): void;
}

/**
 * A Spool follower at the wire level, on a plain socket: a thousand `ws` clients in one
 * process cost the benchmark more than the server it measures, so this one parses the
 * server's frames itself. It checks what `ws` would (handshake accept key, unmasked
 * frames, known opcodes) and what the protocol promises: every binary message announced
 * by a `data` message at exactly the offset received so far and of exactly its length.
 */
export class RawSpoolFollower {
  private socket: Socket | undefined;
  private pending: Buffer | undefined;
  private received = 0;
  /** The `data` message being served: bytes still expected for it. */
  private announcedRemaining: number | undefined;
  private ended = false;

  constructor(
    private readonly url: string,
    /** Offset to follow from; undefined: a watcher (statuses only, no bytes pushed). */
    private readonly from: number | undefined,
    private readonly events: RawFollowerEvents,
  ) {}

  /** Resolves once the handshake is done and the follow (if any) sent. */
  connect(): Promise<void> {
    const url = new URL(this.url);
    const key = randomBytes(16).toString('base64');
    const expectedAccept = createHash('sha1')
      .update(key + WEBSOCKET_GUID)
      .digest('base64');
    return new Promise((resolve, reject) => {
      let handshake: Buffer | undefined = Buffer.alloc(0);
      // `onread` hands each read to us from one reused buffer, skipping the stream machinery
      // that a thousand sockets would pay for at every push; nothing is kept past the call
      // but copies (see onData).
      const socket = connect({
        host: url.hostname,
        port: Number(url.port),
        noDelay: true,
        onread: {
          buffer: READ_BUFFER,
          callback: (bytes) => {
            const chunk = READ_BUFFER.subarray(0, bytes);
            if (handshake === undefined) {
              this.onData(chunk);
              return true;
            }
            handshake = Buffer.concat([handshake, chunk]);
            const end = handshake.indexOf('\r\n\r\n');
            if (end < 0) return true;
            const head = handshake.subarray(0, end).toString('latin1').split('\r\n');
            const rest = handshake.subarray(end + 4);
            handshake = undefined;
            const accept = head.find((line) => line.toLowerCase().startsWith('sec-websocket-accept:'));
            if (!head[0]?.startsWith('HTTP/1.1 101') || accept?.slice(21).trim() !== expectedAccept) {
              socket.destroy();
              reject(new Error(`upgrade refused: ${head[0]}`));
              return false;
            }
            if (this.from !== undefined) this.send(OPCODE.text, Buffer.from(JSON.stringify({ type: 'follow', from: this.from })));
            resolve();
            if (rest.length > 0) this.onData(rest);
            return true;
          },
        },
      });
      this.socket = socket;
      socket.on('error', (error) => {
        reject(error);
        this.fail(error);
      });
      socket.on('close', () => {
        if (!this.ended) this.fail(new Error(`connection closed after ${this.received} bytes`));
      });
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
      );
    });
  }

  /** Stops reading the socket for good (a stalled follower): the server's writes to it back up. */
  stall(): void {
    this.socket?.pause();
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.received;
  }

  close(): void {
    this.ended = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(1000);
    this.send(OPCODE.close, payload);
    this.socket?.end();
  }

  /** A client frame: always masked (RFC 6455 §5.3), FIN, payload ≤ 125 bytes here. */
  private send(opcode: number, payload: Buffer): void {
    const mask = randomBytes(4);
    const frame = Buffer.allocUnsafe(6 + payload.length);
    frame[0] = 0x80 | opcode;
    frame[1] = 0x80 | payload.length;
    mask.copy(frame, 2);
    for (let i = 0; i < payload.length; i++) frame[6 + i] = (payload[i] as number) ^ (mask[i & 3] as number);
    this.socket?.write(frame);
  }

  private onData(chunk: Buffer): void {
    let buffer = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (buffer.length >= 2 && !this.ended) {
      const first = buffer[0] as number;
      const second = buffer[1] as number;
      if ((second & 0x80) !== 0 || (first & 0x70) !== 0) {
        this.fail(new Error('masked or RSV frame from the server'));
        return;
      }
      let length = second & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffer.length < 4) break;
        length = buffer.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buffer.length < 10) break;
        length = Number(buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (buffer.length < at + length) break;
      const payload = buffer.subarray(at, at + length);
      buffer = buffer.subarray(at + length);
      this.onFrame(first & 0x0f, payload);
    }
    if (buffer.length > 0 && !this.ended) this.pending = Buffer.from(buffer); // a copy: the read buffer is reused
  }

  private onFrame(opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OPCODE.binary:
      case OPCODE.continuation:
        this.onBinary(payload);
        break;
      case OPCODE.text:
        this.onText(JSON.parse(payload.toString('utf8')) as ServerMessage);
        break;
      case OPCODE.ping:
        this.send(OPCODE.pong, payload);
        break;
      case OPCODE.pong:
        break;
      case OPCODE.close:
        this.fail(new Error(`server closed: ${payload.subarray(2).toString('utf8')}`));
        break;
      default:
        this.fail(new Error(`unknown opcode ${opcode}`));
    }
  }

  private onBinary(payload: Buffer): void {
    if (payload.length === 0) return; // the FIN frame of a fragmented message
    if (this.announcedRemaining === undefined || payload.length > this.announcedRemaining) {
      this.fail(new Error(`${payload.length} bytes at ${this.received} not announced by a data message`));
      return;
    }
    this.announcedRemaining -= payload.length;
    if (this.announcedRemaining === 0) this.announcedRemaining = undefined;
    this.events.onBytes(this.received, payload);
    this.received += payload.length;
  }

  private onText(message: ServerMessage): void {
    if (message.type === 'error') {
      this.fail(new Error(`follower got an error: ${message.message ?? ''}`));
    } else if (message.type === 'data') {
      if (this.announcedRemaining !== undefined || message.offset !== this.received) {
        this.fail(new Error(`data at ${message.offset} announced while at ${this.received}`));
      } else {
        this.announcedRemaining = message.length;
      }
    } else if (message.type === 'status' && (message.state === 'COMPLETED' || message.state === 'FAILED')) {
      if (message.size === this.received) {
        this.events.onEnd(this.received);
        this.close();
      } else {
        this.fail(new Error(`terminal status at ${message.size}, ${this.received} received`));
      }
    }
  }

  private fail(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.socket?.destroy();
    this.events.onError(error);
  }
}

interface ServerMessage {
  type: string;
  state?: string;
  size?: number;
  offset?: number;
  length?: number;
  message?: string;
}
