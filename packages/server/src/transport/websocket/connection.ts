import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { type Duplex, Readable } from 'node:stream';
import { CloseCode, ConnectionClosedError, truncateCloseReason } from '@spool/common';
import type { ByteBudget } from './byte-budget.js';
import { decodeClosePayload, encodeClosePayload, isValidCloseCode, NO_STATUS_RECEIVED } from './close-frame.js';
import { EncodedFrames } from './encoded-frames.js';
import { FrameParser, type FrameParserHandler } from './frame-parser.js';
import { type FramePiece, FrameSplitter } from './frame-splitter.js';
import { encodeControlFrame, encodeFrameHeader } from './frame-writer.js';
import { type DataOpcode, Opcode } from './opcodes.js';
import { OutputProgress } from './output-progress.js';
import { TextAccumulator } from './text-accumulator.js';

export interface WsConnectionOptions {
  /** Largest text message accepted (summed over its frames); beyond it → close 1009. */
  maxTextMessageBytes: number;
  /**
   * Keepalive ping interval; a peer that neither sent anything nor took any of our output
   * for a whole interval is terminated. ≤ 0 disables.
   */
  pingIntervalMs: number;
  /** How long the closing handshake may take before the socket is destroyed. */
  closeTimeoutMs: number;
  /**
   * Shared by all connections of a server: unfinished text messages reserve their
   * announced length from it; a message it has no room for closes its connection with 1013.
   */
  textBudget?: ByteBudget | undefined;
}

export interface WsCloseInfo {
  /**
   * Code of the close frame that started the closing handshake (ours or the peer's; 1005
   * if it carried none). 1006 if no close frame came back — except when we failed the
   * connection for a protocol error (1002/1007/1009...), which reports our code.
   */
  code: number;
  reason: string;
  /** The peer started the close (close frame, or vanished). */
  remote: boolean;
  /** Close frames went both ways. */
  clean: boolean;
}

export interface WsConnectionEvents {
  /** A whole text message, UTF-8 validated. */
  text: [text: string];
  /** A binary message begins; 'binaryChunk's follow as its payload arrives. */
  binaryStart: [];
  /**
   * Payload of the current binary message, as it arrives (several per frame possible).
   * The chunk is the listener's to keep: its memory is never reused.
   */
  binaryChunk: [chunk: Buffer];
  /** The binary message ended (FIN). Also emitted for an empty message. */
  binaryEnd: [];
  /** Exactly once, when the socket is gone. */
  close: [info: WsCloseInfo];
}

/** What `sendBinary` accepts; a stream/iterable is sent as one fragmented message. */
export type BinaryMessageSource = Buffer | Uint8Array | Readable | AsyncIterable<Buffer | Uint8Array>;

export interface SendBinaryOptions {
  /**
   * Exact length of a stream source. The message is then sent as frames of up to 16 MiB
   * whose headers precede their payload (one frame for most replies) instead of one
   * fragment per chunk. A source that ends short fails the send (and the connection).
   */
  length?: number;
}

export interface WsConnectionInit {
  request: IncomingMessage;
  socket: Duplex;
  /** Bytes that arrived with the upgrade request, after its headers. */
  head: Buffer;
  options: WsConnectionOptions;
  /** Negotiated subprotocol, '' if none. */
  protocol?: string;
}

/** A message source once a plain Uint8Array has been viewed as a Buffer; or whole frames encoded beforehand. */
type OutboundSource = Buffer | Readable | AsyncIterable<Buffer | Uint8Array> | EncodedFrames;

interface OutboundMessage {
  readonly opcode: DataOpcode;
  readonly source: OutboundSource;
  /** Known length of a stream source (see SendBinaryOptions). */
  readonly length: number | undefined;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** open → closing (handshake under way, or socket being torn down) → closed ('close' emitted). */
type Lifecycle = 'open' | 'closing' | 'closed';

interface CloseHandshake {
  code: number;
  reason: string;
  remote: boolean;
}

const EMPTY = Buffer.alloc(0);
/** Payloads below this are copied next to their header (one small write beats a writev). */
const COALESCE_BELOW_BYTES = 1024;
/** Largest frame of a message sent with a known length: a close or ping waits at most this long. */
const MAX_SIZED_FRAME_BYTES = 16 * 1024 * 1024;
const PING_FRAME = encodeControlFrame(Opcode.PING, EMPTY);
const PING_ABUSE_REASON = 'Peer sends pings but reads none of our output';

/**
 * Server side of one WebSocket connection, created by `acceptWebSocket`.
 *
 * Inbound binary payload is handed out as it arrives ('binaryChunk'), with `pause()` /
 * `resume()` as back-pressure. Outbound messages go through one ordered queue; a
 * stream source is sent as fragments, at the pace the socket drains.
 */
export class WsConnection extends EventEmitter<WsConnectionEvents> {
  /** Short random id for logs. */
  readonly id: string = randomBytes(6).toString('base64url');
  readonly request: IncomingMessage;
  readonly protocol: string;

  private readonly socket: Duplex;
  private readonly options: WsConnectionOptions;
  private readonly parser: FrameParser;

  private lifecycle: Lifecycle = 'open';
  private closeFrameSent = false;
  private closeFrameReceived = false;
  /** The close frame that started the closing handshake, and who sent it. */
  private handshake: CloseHandshake | undefined;
  /** Why the connection ended without a received close frame (reported as 1006). */
  private abnormalEnd: { reason: string; remote: boolean } | undefined;

  /** We closed because the peer broke the protocol: its further input is not parsed. */
  private failed = false;

  /** Input flows from the next event-loop turn on, so the caller can attach listeners first. */
  private started = false;
  /** Bytes that came with the upgrade request; parsed before anything read later. */
  private pendingHead: Buffer | undefined;
  private inboundPaused = false;
  private readonly textMessage: TextAccumulator;

  private readonly outbound: OutboundMessage[] = [];
  private sending = false;
  /** A frame's header is written but not all its payload: nothing else may reach the socket. */
  private midFrame = false;

  // Control frames held back (each at most one): inside a frame nothing else may be
  // written; a pong also waits while our output is backed up, so a peer that pings
  // without reading cannot make us buffer pongs.
  /** Payload of the newest ping not answered yet: RFC 6455 §5.5.3 lets us answer only the most recent. */
  private pendingPong: Buffer | undefined;
  /** Input is not read while a pong waits: the peer's pings pile up in its own buffers, not ours. */
  private readingHeldForPong = false;
  /** A keepalive ping waits for the frame under way to end. */
  private pingDue = false;
  private deferredCloseFrame: Buffer | undefined;
  private endDeferred = false;
  /** Aborted when no more data frames may be written (closing started, or socket gone). */
  private readonly sendAbort = new AbortController();
  /** Aborted when the socket has closed. */
  private readonly socketGone = new AbortController();

  private peerActiveSincePing = true;
  private readonly outputProgress: OutputProgress;
  private pingTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(init: WsConnectionInit) {
    super();
    this.request = init.request;
    this.socket = init.socket;
    this.options = init.options;
    this.protocol = init.protocol ?? '';
    this.parser = new FrameParser(this.createParserHandler(), {
      maxTextMessageBytes: init.options.maxTextMessageBytes,
      textBudget: init.options.textBudget,
    });
    this.textMessage = new TextAccumulator(init.options.maxTextMessageBytes);
    this.outputProgress = new OutputProgress(init.socket);

    const socket = this.socket;
    if (socket instanceof Socket) {
      socket.setNoDelay(true);
      socket.setTimeout(0); // node:http may have armed an idle timeout for the request
    }
    // Hold input until the caller has attached listeners (possibly after awaiting
    // something); setImmediate lets pending promise continuations run first.
    socket.pause();
    socket.on('data', this.onSocketData);
    socket.on('end', this.onSocketEnd);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    socket.on('drain', this.onSocketDrain);
    this.pendingHead = init.head.length > 0 ? init.head : undefined;
    setImmediate(() => {
      this.started = true;
      if (!this.inboundPaused) this.readInput();
    });

    if (init.options.pingIntervalMs > 0) {
      this.pingTimer = setInterval(this.onPingTick, init.options.pingIntervalMs);
      this.pingTimer.unref();
    }
  }

  /** True once no more messages can be sent: closing handshake started, or socket gone. */
  get closed(): boolean {
    return this.lifecycle !== 'open';
  }

  /** Bytes of our output not yet taken by the kernel: the socket's buffer plus control frames held back. */
  get bufferedAmount(): number {
    return (
      this.socket.writableLength +
      (this.pendingPong === undefined ? 0 : 2 + this.pendingPong.length) +
      (this.pingDue ? PING_FRAME.length : 0) +
      (this.deferredCloseFrame?.length ?? 0)
    );
  }

  /**
   * Stops reading from the socket. Events of a chunk being parsed may still arrive.
   * Call it right after `acceptWebSocket` to defer all inbound events.
   */
  pause(): void {
    if (this.lifecycle !== 'open') return; // while closing we must keep reading for the close frame
    this.inboundPaused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.inboundPaused) return;
    this.inboundPaused = false;
    this.peerActiveSincePing = true; // its pongs may be waiting unread in the socket
    if (this.started) this.readInput();
  }

  /** Queues a text message. Resolves once written to the socket (and drained below its high-water mark). */
  sendText(text: string): Promise<void> {
    return this.enqueue(Opcode.TEXT, Buffer.from(text, 'utf8'));
  }

  /**
   * Queues a binary message. A Buffer is sent as one frame; a Readable / async iterable
   * as one message, pulled only as fast as the socket drains: one fragment per chunk, or
   * with `options.length` in frames sized in advance (see {@link SendBinaryOptions}).
   * A stream source is destroyed if the connection closes before it is fully sent.
   * Rejects with `ConnectionClosedError` if the connection closes first.
   */
  sendBinary(data: BinaryMessageSource, options: SendBinaryOptions = {}): Promise<void> {
    if (data instanceof Uint8Array && !Buffer.isBuffer(data)) {
      return this.enqueue(Opcode.BINARY, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    }
    if (!Buffer.isBuffer(data) && typeof (data as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== 'function') {
      return Promise.reject(new TypeError('sendBinary expects a Buffer, a Readable or an async iterable of Buffers'));
    }
    const { length } = options;
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
      return Promise.reject(new RangeError(`Invalid message length ${length}`));
    }
    return this.enqueue(Opcode.BINARY, data as OutboundSource, length); // plain Uint8Array handled above
  }

  /**
   * Writes whole frames encoded beforehand (shared with other connections) at once, with
   * no promise and no copy — if the connection is open, nothing else is queued or being
   * sent, and the socket is below its high-water mark. Otherwise writes nothing and
   * returns false: use `sendEncoded`, which waits its turn and for 'drain'.
   */
  trySendEncoded(frames: EncodedFrames): boolean {
    if (this.lifecycle !== 'open' || this.sending || this.outbound.length > 0) return false;
    const socket = this.socket;
    if (!socket.writable || socket.writableNeedDrain) return false;
    socket.write(frames.bytes);
    return true;
  }

  /** Queues whole frames encoded beforehand; resolves and rejects like `sendText`. */
  sendEncoded(frames: EncodedFrames): Promise<void> {
    return this.enqueue(Opcode.BINARY, frames);
  }

  /**
   * Starts the closing handshake: queued messages are dropped (rejected), a stream being
   * sent is cut short (the close frame may follow a fragment, which RFC 6455 allows
   * for control frames), then waits up to `closeTimeoutMs` for the peer's close frame.
   */
  close(code: number, reason: string): void {
    if (!isValidCloseCode(code)) throw new RangeError(`Invalid WebSocket close code ${code}`);
    if (this.lifecycle !== 'open') return;
    const truncatedReason = truncateCloseReason(reason);
    this.beginClosing(
      { code, reason: truncatedReason, remote: false },
      new ConnectionClosedError(`WebSocket closed (${code} ${truncatedReason})`, { code, reason: truncatedReason }),
    );
    this.writeCloseFrame(code, truncatedReason);
  }

  /** Destroys the socket at once ('close' reports 1006 unless the handshake was complete). */
  terminate(): void {
    if (this.lifecycle === 'closed') return;
    this.abnormalEnd ??= { reason: 'Connection terminated', remote: false };
    this.destroySocket();
  }

  // ---- inbound -------------------------------------------------------------------

  private readInput(): void {
    if (this.lifecycle === 'closed') return;
    const head = this.pendingHead;
    this.pendingHead = undefined;
    if (head !== undefined) this.onSocketData(head);
    if (!this.inboundPaused && !this.readingHeldForPong) this.socket.resume(); // a handler may have paused again
  }

  private readonly onSocketData = (chunk: Buffer): void => {
    this.peerActiveSincePing = true;
    this.parser.push(chunk);
  };

  private createParserHandler(): FrameParserHandler {
    return {
      onMessageStart: (type) => {
        if (type === Opcode.BINARY && this.lifecycle === 'open') this.emit('binaryStart');
      },
      onTextPayload: (chunk) => {
        if (this.lifecycle === 'open') this.textMessage.append(chunk, this.parser.textBytesAnnounced);
      },
      onBinaryPayload: (chunk) => {
        if (this.lifecycle === 'open') this.emit('binaryChunk', chunk);
      },
      onMessageEnd: (type) => {
        if (type === Opcode.TEXT) this.finishTextMessage();
        else if (this.lifecycle === 'open') this.emit('binaryEnd');
      },
      onControlFrame: (opcode, payload) => this.onControlFrame(opcode, payload),
      onProtocolError: (error) => this.failConnection(error.closeCode, error.message),
    };
  }

  private finishTextMessage(): void {
    const bytes = this.textMessage.take();
    if (this.lifecycle !== 'open') return;
    if (!isUtf8(bytes)) {
      this.failConnection(CloseCode.INVALID_PAYLOAD, 'Text message is not valid UTF-8');
      return;
    }
    this.emit('text', bytes.toString('utf8'));
  }

  private onControlFrame(opcode: Opcode, payload: Buffer): void {
    if (opcode === Opcode.PING) this.answerPing(payload);
    else if (opcode === Opcode.CLOSE) this.onCloseFrame(payload);
    // PONG: liveness is already recorded for any inbound data.
  }

  /**
   * Pongs go out at once unless a frame is under way or our output is backed up; then
   * only the newest waits, and input is not read until it is written (a peer that keeps
   * pinging without reading is closed by the keepalive, see onPingTick).
   */
  private answerPing(payload: Buffer): void {
    if (this.closeFrameSent || this.lifecycle !== 'open') return;
    this.pendingPong = payload; // the parser's own copy of a control payload
    if (!this.midFrame && !this.socket.writableNeedDrain) {
      this.writePendingPong();
    } else if (!this.readingHeldForPong) {
      this.readingHeldForPong = true;
      this.socket.pause();
    }
  }

  private writePendingPong(): void {
    const payload = this.pendingPong;
    if (payload === undefined) return;
    this.pendingPong = undefined;
    if (this.socket.writable) this.socket.write(encodeControlFrame(Opcode.PONG, payload));
    if (this.readingHeldForPong) {
      this.readingHeldForPong = false;
      if (this.started && !this.inboundPaused && this.lifecycle === 'open') this.readInput();
    }
  }

  private onCloseFrame(payload: Buffer): void {
    this.closeFrameReceived = true;
    this.parser.stop(); // nothing may follow a close frame
    if (this.lifecycle === 'open') {
      const decoded = decodeClosePayload(payload);
      if (decoded.valid) {
        this.beginClosing(
          { code: decoded.code, reason: decoded.reason, remote: true },
          new ConnectionClosedError(`WebSocket closed by peer (${decoded.code} ${decoded.reason})`, {
            code: decoded.code,
            reason: decoded.reason,
          }),
        );
        // Echo the peer's code; an empty close frame if it sent none.
        this.writeCloseFrame(decoded.code === NO_STATUS_RECEIVED ? undefined : decoded.code, decoded.reason);
      } else {
        this.beginClosing(
          { code: decoded.closeCode, reason: decoded.message, remote: false },
          new ConnectionClosedError(`Invalid close frame from peer: ${decoded.message}`),
        );
        this.writeCloseFrame(decoded.closeCode, decoded.message);
      }
    }
    // Handshake complete: the server closes the TCP connection first (RFC 6455 §7.1.1).
    this.endSocket();
  }

  /**
   * The peer broke the protocol: send a close frame and end the socket without waiting
   * for the peer's close frame, which could not be parsed reliably (RFC 6455 §7.1.7).
   */
  private failConnection(code: number, message: string): void {
    this.parser.stop();
    this.textMessage.reset();
    if (this.lifecycle !== 'open') return;
    this.failed = true;
    this.close(code, message);
    this.endSocket();
  }

  // ---- socket lifecycle ---------------------------------------------------------------

  private readonly onSocketEnd = (): void => {
    if (this.closeFrameReceived) {
      this.endSocket();
      return;
    }
    // The peer is gone without a close frame. node:http upgrade sockets allow half-open
    // connections, so without this the socket would linger.
    this.abnormalEnd ??= { reason: 'Peer ended the connection without a close frame', remote: true };
    this.destroySocket();
  };

  private readonly onSocketError = (error: Error): void => {
    this.abnormalEnd ??= { reason: `Socket error: ${error.message}`, remote: true };
    this.destroySocket();
  };

  private readonly onSocketClose = (): void => {
    if (this.lifecycle === 'closed') return;
    this.lifecycle = 'closed';
    this.clearTimers();
    const error = new ConnectionClosedError('WebSocket connection closed');
    this.stopSending(error);
    this.socketGone.abort(error);
    this.parser.stop(); // gives back what a partial text message reserved
    this.textMessage.reset();
    const info: WsCloseInfo =
      this.handshake !== undefined && (this.closeFrameReceived || this.failed)
        ? { ...this.handshake, clean: this.closeFrameSent && this.closeFrameReceived }
        : {
            code: CloseCode.ABNORMAL,
            reason: this.abnormalEnd?.reason ?? 'Connection closed without a close frame',
            remote: this.abnormalEnd?.remote ?? true,
            clean: false,
          };
    this.emit('close', info);
  };

  private beginClosing(handshake: CloseHandshake, sendError: Error): void {
    this.lifecycle = 'closing';
    this.handshake = handshake;
    this.stopSending(sendError);
    this.clearPingTimer();
    this.pendingPong = undefined; // nothing follows our close frame
    this.closeTimer = setTimeout(() => {
      this.abnormalEnd ??= { reason: 'Closing handshake timed out', remote: false };
      this.socket.destroy();
    }, this.options.closeTimeoutMs);
    this.closeTimer.unref();
    // A failed connection's input is not parsed: a peer that flooded pings stays unread.
    const resumeReading = this.inboundPaused || (this.readingHeldForPong && !this.failed);
    this.inboundPaused = false;
    if (!this.failed) this.readingHeldForPong = false;
    // The peer's close frame (or its end of the socket) must be read.
    if (resumeReading && this.started) this.readInput();
  }

  private endSocket(): void {
    if (this.midFrame) {
      this.endDeferred = true;
      return;
    }
    if (!this.socket.writableEnded && !this.socket.destroyed) this.socket.end();
  }

  private destroySocket(): void {
    if (this.lifecycle === 'open') this.lifecycle = 'closing';
    this.stopSending(new ConnectionClosedError(this.abnormalEnd?.reason ?? 'WebSocket connection lost'));
    this.socket.destroy();
  }

  /**
   * Backed-up output draining means the peer's TCP stack takes it: the peer is alive even
   * if its pong is stuck behind a long reply we are still sending it.
   */
  private readonly onSocketDrain = (): void => {
    this.peerActiveSincePing = true;
    if (!this.midFrame) this.flushControlFrames();
  };

  /**
   * A peer is alive if it sent anything, or took any of our output, since the last tick:
   * a slow reader's pong may wait behind megabytes of data, but its reading shows. One
   * that did neither while its own ping waits for an answer is abusing us, not dead: 1008.
   */
  private readonly onPingTick = (): void => {
    // While paused we are not reading, so the peer's pong could not be seen.
    if (this.lifecycle !== 'open' || this.inboundPaused) return;
    const output = this.outputProgress.look();
    if (!this.peerActiveSincePing && output !== 'advanced') {
      if (this.pendingPong !== undefined) {
        // Abuse only when our output is proven stuck behind the peer; with none waiting at
        // the last look (a loaded machine, our own source slow) the next tick decides.
        if (output === 'stalled') {
          this.failConnection(CloseCode.POLICY_VIOLATION, PING_ABUSE_REASON);
          return;
        }
        this.peerActiveSincePing = false;
        return;
      }
      this.abnormalEnd ??= { reason: 'Keepalive timeout: no pong from peer', remote: false };
      this.destroySocket();
      return;
    }
    this.peerActiveSincePing = false;
    if (this.midFrame) this.pingDue = true;
    else if (this.socket.writable) this.socket.write(PING_FRAME);
  };

  private clearPingTimer(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private clearTimers(): void {
    this.clearPingTimer();
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
  }

  // ---- outbound -----------------------------------------------------------------------

  private enqueue(opcode: DataOpcode, source: OutboundSource, length?: number): Promise<void> {
    if (this.lifecycle !== 'open') return Promise.reject(new ConnectionClosedError('WebSocket is closed'));
    return new Promise<void>((resolve, reject) => {
      this.outbound.push({ opcode, source, length, resolve, reject });
      if (!this.sending) void this.processOutbound();
    });
  }

  /** The single sender: one message at a time, in call order. Never rejects. */
  private async processOutbound(): Promise<void> {
    this.sending = true;
    try {
      for (;;) {
        if (this.lifecycle !== 'open') return;
        const message = this.outbound.shift();
        if (message === undefined) return;
        try {
          if (Buffer.isBuffer(message.source)) await this.sendWholeMessage(message.opcode, message.source);
          else if (message.source instanceof EncodedFrames) await this.sendEncodedFrames(message.source);
          else if (message.length !== undefined) await this.sendSizedMessage(message.source, message.length);
          else await this.sendFragmentedMessage(message.source);
          message.resolve();
        } catch (error) {
          message.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private async sendWholeMessage(opcode: DataOpcode, payload: Buffer): Promise<void> {
    // Once written it is ahead of any close frame, so only the socket's end can fail it.
    if (!this.writeDataFrame(opcode, true, payload)) await this.waitForDrain(this.socketGone.signal);
  }

  private async sendEncodedFrames(frames: EncodedFrames): Promise<void> {
    if (!this.socket.writable) throw new ConnectionClosedError('WebSocket socket is not writable');
    if (!this.socket.write(frames.bytes)) await this.waitForDrain(this.socketGone.signal);
  }

  private async sendFragmentedMessage(source: Readable | AsyncIterable<Buffer | Uint8Array>): Promise<void> {
    const signal = this.sendAbort.signal;
    const iterator: AsyncIterator<unknown> = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    let opcode: Opcode = Opcode.BINARY; // first frame; continuations after it
    let completed = false;
    try {
      for (;;) {
        const step = await untilAborted(iterator.next(), signal);
        signal.throwIfAborted();
        if (step.done) break;
        const chunk = toBuffer(step.value);
        if (chunk.length === 0) continue;
        const belowHighWaterMark = this.writeDataFrame(opcode, false, chunk);
        opcode = Opcode.CONTINUATION;
        if (!belowHighWaterMark) await this.waitForDrain(signal);
      }
      signal.throwIfAborted();
      this.writeDataFrame(opcode, true, EMPTY); // FIN; a lone frame for an empty message
      completed = true;
    } catch (error) {
      if (opcode === Opcode.CONTINUATION && this.lifecycle === 'open') {
        // Fragments are on the wire and a message cannot be withdrawn: the connection is unusable.
        const detail = error instanceof Error ? error.message : String(error);
        this.close(CloseCode.INTERNAL_ERROR, `Failed to send a message: ${detail}`);
      }
      throw error;
    } finally {
      if (!completed) releaseSource(source, iterator);
    }
  }

  /**
   * Streams a message of known length in frames whose headers precede their payload.
   * Inside a frame nothing else can be written, so control frames and the socket's end
   * wait for its last byte, and closing lets the frame finish (only the socket's end
   * interrupts it); a source failing there leaves no way out but destroying the socket.
   */
  private async sendSizedMessage(source: Readable | AsyncIterable<Buffer | Uint8Array>, length: number): Promise<void> {
    const frames = new FrameSplitter(length, MAX_SIZED_FRAME_BYTES);
    const iterator: AsyncIterator<unknown> = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    try {
      if (length === 0) {
        this.sendAbort.signal.throwIfAborted();
        if (!this.writeDataFrame(Opcode.BINARY, true, EMPTY)) await this.waitForDrain(this.socketGone.signal);
        return;
      }
      while (!frames.complete) {
        const step = await untilAborted(iterator.next(), this.sendSignal(frames));
        this.sendSignal(frames).throwIfAborted();
        if (step.done) throw new Error(`Message source ended after ${frames.sent} of the ${length} bytes announced`);
        let belowHighWaterMark = true;
        for (const piece of frames.split(toBuffer(step.value))) belowHighWaterMark = this.writeFramePiece(piece);
        if (!belowHighWaterMark) await this.waitForDrain(frames.complete ? this.socketGone.signal : this.sendSignal(frames));
      }
    } catch (error) {
      this.abandonSizedMessage(frames, error);
      throw error;
    } finally {
      // Bytes past `length` are not read: the source is released once the message is out.
      releaseSource(source, iterator);
    }
  }

  /** What may interrupt a sized message now: closing between frames, only the socket's end inside one. */
  private sendSignal(frames: FrameSplitter): AbortSignal {
    return frames.inFrame ? this.socketGone.signal : this.sendAbort.signal;
  }

  /** Writes one piece; at the end of its frame, what waited for it goes out before the next frame. */
  private writeFramePiece(piece: FramePiece): boolean {
    let belowHighWaterMark: boolean;
    if (piece.header === undefined) {
      if (!this.socket.writable) throw new ConnectionClosedError('WebSocket socket is not writable');
      belowHighWaterMark = this.socket.write(piece.payload);
    } else {
      const { opcode, fin, length } = piece.header;
      belowHighWaterMark = this.writeDataFrame(opcode, fin, piece.payload, length);
    }
    this.midFrame = !piece.endsFrame;
    if (piece.endsFrame) this.flushControlFrames(true);
    return belowHighWaterMark;
  }

  /**
   * Writes the control frames held back (pong, ping, close: nothing may follow a close),
   * then ends the socket if that waited too. Not inside a frame. A waiting pong is written
   * once our output drained, or at a frame's end: frames end only as fast as the peer reads.
   */
  private flushControlFrames(frameEnded = false): void {
    if (frameEnded || !this.socket.writableNeedDrain) this.writePendingPong();
    if (this.pingDue) {
      this.pingDue = false;
      if (this.socket.writable) this.socket.write(PING_FRAME);
    }
    const closeFrame = this.deferredCloseFrame;
    this.deferredCloseFrame = undefined;
    if (closeFrame !== undefined && this.socket.writable) this.socket.write(closeFrame);
    if (this.endDeferred) {
      this.endDeferred = false;
      this.endSocket();
    }
  }

  private abandonSizedMessage(frames: FrameSplitter, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    if (frames.inFrame) {
      // A frame cannot be cut short, nor anything written after part of one.
      this.midFrame = false;
      this.pendingPong = undefined;
      this.pingDue = false;
      this.deferredCloseFrame = undefined;
      this.abnormalEnd ??= { reason: `Failed to send a message: ${detail}`, remote: false };
      this.destroySocket();
    } else if (frames.frames > 0 && this.lifecycle === 'open') {
      // Frames are on the wire and a message cannot be withdrawn: the connection is unusable.
      this.close(CloseCode.INTERNAL_ERROR, `Failed to send a message: ${detail}`);
    }
  }

  /**
   * Writes the header of a data frame announcing `frameLength` bytes, and `payload` (all of
   * it, or the start of a frame streamed on); returns false when the caller should wait for 'drain'.
   */
  private writeDataFrame(opcode: Opcode, fin: boolean, payload: Buffer, frameLength = payload.length): boolean {
    const socket = this.socket;
    if (!socket.writable) throw new ConnectionClosedError('WebSocket socket is not writable');
    const header = encodeFrameHeader(opcode, fin, frameLength);
    if (payload.length === 0) return socket.write(header);
    if (payload.length < COALESCE_BELOW_BYTES) return socket.write(Buffer.concat([header, payload]));
    // Corked so header and payload leave in one writev, without copying the payload.
    socket.cork();
    socket.write(header);
    const belowHighWaterMark = socket.write(payload);
    socket.uncork();
    return belowHighWaterMark;
  }

  private writeCloseFrame(code: number | undefined, reason: string): void {
    if (!this.socket.writable) return;
    const frame = encodeControlFrame(Opcode.CLOSE, encodeClosePayload(code, truncateCloseReason(reason)));
    if (this.midFrame) this.deferredCloseFrame = frame;
    else this.socket.write(frame);
    this.closeFrameSent = true;
  }

  private waitForDrain(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal.reason);
      };
      const cleanup = (): void => {
        this.socket.off('drain', onDrain);
        signal.removeEventListener('abort', onAbort);
      };
      this.socket.on('drain', onDrain);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Rejects queued messages and aborts the one being streamed. */
  private stopSending(error: Error): void {
    if (!this.sendAbort.signal.aborted) this.sendAbort.abort(error);
    for (const message of this.outbound.splice(0)) message.reject(error);
  }
}

/** `promise`, or the abort reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // it may still reject later; nobody waits for it
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('sendBinary source yielded a non-binary chunk (a Readable must not use setEncoding or objectMode)');
}

/** Stops a source that will not be read to its end (a Readable is destroyed, freeing e.g. its fd). */
function releaseSource(source: Readable | AsyncIterable<unknown>, iterator: AsyncIterator<unknown>): void {
  if (source instanceof Readable) {
    source.destroy();
    return;
  }
  // return() of an async generator waits for a pending next(); do not block on it.
  Promise.resolve()
    .then(() => iterator.return?.())
    .catch(() => {});
}
