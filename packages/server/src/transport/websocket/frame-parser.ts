import { CloseCode } from '@spool/common';
import type { ByteBudget } from './byte-budget.js';
import { type ControlOpcode, type DataOpcode, MAX_CONTROL_PAYLOAD_BYTES, Opcode } from './opcodes.js';
import { unmaskInPlace } from './unmask.js';

/** A violation of RFC 6455 by the peer; `closeCode` is the code to close with. */
export class WsProtocolError extends Error {
  readonly closeCode: number;
  constructor(closeCode: number, message: string) {
    super(message);
    this.name = 'WsProtocolError';
    this.closeCode = closeCode;
  }
}

/**
 * Receives what the parser decodes. Payload buffers are slices of the buffers given to
 * `push` (unmasked in place), so they stay valid after the callback returns.
 */
export interface FrameParserHandler {
  /** The first frame of a data message arrived (before any of its payload). */
  onMessageStart(type: DataOpcode): void;
  /** A piece of text message payload; possibly many per frame. Never empty. */
  onTextPayload(chunk: Buffer): void;
  /** A piece of binary message payload; possibly many per frame. Never empty. */
  onBinaryPayload(chunk: Buffer): void;
  /** The frame with FIN=1 of the current data message ended. */
  onMessageEnd(type: DataOpcode): void;
  /** A whole control frame (they are at most 125 bytes, so they are collected). */
  onControlFrame(opcode: ControlOpcode, payload: Buffer): void;
  /** The peer broke the protocol; the parser has stopped. */
  onProtocolError(error: WsProtocolError): void;
}

export interface FrameParserOptions {
  /** Limit on the summed payload of one text message (1009 beyond it). */
  maxTextMessageBytes: number;
  /**
   * Shared by every connection: a text message's frames reserve their announced length
   * from it until the message ends or the parser stops (1013 when it has no room left).
   */
  textBudget?: ByteBudget | undefined;
}

enum ParserState {
  Header,
  Payload,
  Stopped,
}

/** 0 = no data message open. */
type OpenMessage = DataOpcode | 0;

const MAX_HEADER_BYTES = 14; // 2 + 8 (64-bit length) + 4 (mask key)
/** 2^53 - 1 = (2^21 - 1) * 2^32 + (2^32 - 1): larger lengths are not exact JS numbers. */
const MAX_SAFE_LENGTH_HIGH_WORD = 0x1fffff;
const EMPTY = Buffer.alloc(0);

function headerSize(secondByte: number): number {
  const length7 = secondByte & 0x7f;
  const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
  return 2 + extended + (secondByte & 0x80 ? 4 : 0);
}

/**
 * Incremental decoder of client→server frames. Fed socket chunks split anywhere; it
 * delivers data payload as it arrives (a frame may be many MB) and never copies it.
 */
export class FrameParser {
  private readonly handler: FrameParserHandler;
  private readonly maxTextMessageBytes: number;
  private readonly textBudget: ByteBudget | undefined;

  private state = ParserState.Header;
  /** Header bytes collected while a header is split across chunks. */
  private readonly heldHeader = Buffer.alloc(MAX_HEADER_BYTES);
  private heldHeaderLength = 0;

  // Current frame.
  private frameOpcode: Opcode = Opcode.CONTINUATION;
  private frameFin = false;
  private readonly maskKey = Buffer.alloc(4);
  private maskIsZero = false;
  private payloadRemaining = 0;
  /** Payload bytes of the current frame consumed so far, mod 4 (the mask phase). */
  private maskPhase = 0;
  private controlPayload: Buffer = EMPTY;
  private controlPayloadLength = 0;

  // Current data message.
  private openMessage: OpenMessage = 0;
  /** Announced payload of the text message under way, all reserved from `textBudget`. */
  private textMessageBytes = 0;

  constructor(handler: FrameParserHandler, options: FrameParserOptions) {
    this.handler = handler;
    this.maxTextMessageBytes = options.maxTextMessageBytes;
    this.textBudget = options.textBudget;
  }

  /** Payload announced so far by the frames of the text message under way. */
  get textBytesAnnounced(): number {
    return this.textMessageBytes;
  }

  /** True after a protocol error or `stop()`: further input is ignored. */
  get stopped(): boolean {
    return this.state === ParserState.Stopped;
  }

  /** Ignore all further input (e.g. after the close frame). Safe inside callbacks. */
  stop(): void {
    this.state = ParserState.Stopped;
    this.releaseText();
  }

  /**
   * Decodes `data`. Takes ownership of it: payload is unmasked in place and handed
   * out as slices.
   */
  push(data: Buffer): void {
    const end = data.length;
    let offset = 0;
    while (offset < end) {
      if (this.state === ParserState.Header) offset = this.consumeHeader(data, offset);
      else if (this.state === ParserState.Payload) offset = this.consumePayload(data, offset);
      else return;
    }
  }

  private consumeHeader(data: Buffer, offset: number): number {
    const available = data.length - offset;
    // Fast path: the whole header is in this chunk.
    if (this.heldHeaderLength === 0 && available >= 2) {
      const size = headerSize(data[offset + 1] as number);
      if (available >= size) {
        this.beginFrame(data, offset);
        return offset + size;
      }
    }
    // Slow path: collect a header split across chunks.
    const held = this.heldHeader;
    for (;;) {
      const size = this.heldHeaderLength < 2 ? 2 : headerSize(held[1] as number);
      if (this.heldHeaderLength >= size) break;
      const count = Math.min(size - this.heldHeaderLength, data.length - offset);
      if (count === 0) return offset; // wait for more input
      data.copy(held, this.heldHeaderLength, offset, offset + count);
      this.heldHeaderLength += count;
      offset += count;
    }
    this.heldHeaderLength = 0;
    this.beginFrame(held, 0);
    return offset;
  }

  /** Decodes and validates a complete header at `header[at]`. */
  private beginFrame(header: Buffer, at: number): void {
    const firstByte = header[at] as number;
    const secondByte = header[at + 1] as number;
    const fin = (firstByte & 0x80) !== 0;
    const opcode = firstByte & 0x0f;

    if ((firstByte & 0x70) !== 0) {
      this.fail(CloseCode.PROTOCOL_ERROR, 'RSV bits set without a negotiated extension');
      return;
    }
    if ((secondByte & 0x80) === 0) {
      this.fail(CloseCode.PROTOCOL_ERROR, 'Client frames must be masked');
      return;
    }

    let length = secondByte & 0x7f;
    let cursor = at + 2;
    if (length === 126) {
      length = header.readUInt16BE(cursor);
      cursor += 2;
    } else if (length === 127) {
      const high = header.readUInt32BE(cursor);
      if (high & 0x80000000) {
        this.fail(CloseCode.PROTOCOL_ERROR, '64-bit payload length with the most significant bit set');
        return;
      }
      if (high > MAX_SAFE_LENGTH_HIGH_WORD) {
        this.fail(CloseCode.MESSAGE_TOO_BIG, 'Frame payload length exceeds 2^53-1');
        return;
      }
      length = high * 0x1_0000_0000 + header.readUInt32BE(cursor + 4);
      cursor += 8;
    }
    header.copy(this.maskKey, 0, cursor, cursor + 4);
    this.maskIsZero = this.maskKey.readUInt32BE(0) === 0;

    const isControl = (opcode & 0x08) !== 0;
    if (isControl) {
      if (opcode !== Opcode.CLOSE && opcode !== Opcode.PING && opcode !== Opcode.PONG) {
        this.fail(CloseCode.PROTOCOL_ERROR, `Unknown opcode 0x${opcode.toString(16)}`);
        return;
      }
      if (!fin) {
        this.fail(CloseCode.PROTOCOL_ERROR, 'Fragmented control frame');
        return;
      }
      if (length > MAX_CONTROL_PAYLOAD_BYTES) {
        this.fail(CloseCode.PROTOCOL_ERROR, 'Control frame payload exceeds 125 bytes');
        return;
      }
      this.controlPayload = length === 0 ? EMPTY : Buffer.allocUnsafe(length);
      this.controlPayloadLength = 0;
    } else if (opcode === Opcode.CONTINUATION) {
      if (this.openMessage === 0) {
        this.fail(CloseCode.PROTOCOL_ERROR, 'Continuation frame without a message in progress');
        return;
      }
    } else if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) {
      if (this.openMessage !== 0) {
        this.fail(CloseCode.PROTOCOL_ERROR, 'New data frame while a fragmented message is in progress');
        return;
      }
    } else {
      this.fail(CloseCode.PROTOCOL_ERROR, `Unknown opcode 0x${opcode.toString(16)}`);
      return;
    }

    this.frameOpcode = opcode as Opcode; // validated above
    this.frameFin = fin;
    this.payloadRemaining = length;
    this.maskPhase = 0;
    this.state = ParserState.Payload;

    if (!isControl) {
      const messageType = (opcode === Opcode.CONTINUATION ? this.openMessage : opcode) as DataOpcode;
      if (messageType === Opcode.TEXT) {
        // Checked against the announced length, before receiving any of it.
        if (this.textMessageBytes + length > this.maxTextMessageBytes) {
          this.fail(CloseCode.MESSAGE_TOO_BIG, `Text message exceeds ${this.maxTextMessageBytes} bytes`);
          return;
        }
        if (this.textBudget !== undefined && !this.textBudget.tryReserve(length)) {
          this.fail(
            CloseCode.TRY_AGAIN_LATER,
            `Server busy: unfinished text messages would exceed ${this.textBudget.limit} bytes in all; try again later`,
          );
          return;
        }
        this.textMessageBytes += length;
      }
      if (opcode !== Opcode.CONTINUATION) {
        this.openMessage = messageType;
        this.handler.onMessageStart(messageType);
        if (this.stopped) return; // the handler may have stopped us
      }
    }
    if (length === 0) this.endFrame();
  }

  private consumePayload(data: Buffer, offset: number): number {
    const count = Math.min(this.payloadRemaining, data.length - offset);
    const piece = data.subarray(offset, offset + count);
    if (!this.maskIsZero) unmaskInPlace(piece, this.maskKey, this.maskPhase);
    this.maskPhase = (this.maskPhase + count) & 3;
    this.payloadRemaining -= count;

    if (this.frameOpcode >= Opcode.CLOSE) {
      piece.copy(this.controlPayload, this.controlPayloadLength);
      this.controlPayloadLength += count;
    } else if (this.openMessage === Opcode.BINARY) {
      this.handler.onBinaryPayload(piece);
    } else {
      this.handler.onTextPayload(piece);
    }
    if (this.payloadRemaining === 0 && this.state === ParserState.Payload) this.endFrame();
    return offset + count;
  }

  private endFrame(): void {
    this.state = ParserState.Header;
    if (this.frameOpcode >= Opcode.CLOSE) {
      const payload = this.controlPayload;
      this.controlPayload = EMPTY;
      this.handler.onControlFrame(this.frameOpcode as ControlOpcode, payload);
    } else if (this.frameFin) {
      const messageType = this.openMessage as DataOpcode;
      this.openMessage = 0;
      this.releaseText(); // the handler takes the text now, synchronously
      this.handler.onMessageEnd(messageType);
    }
  }

  private releaseText(): void {
    this.textBudget?.release(this.textMessageBytes);
    this.textMessageBytes = 0;
  }

  private fail(closeCode: number, message: string): void {
    this.state = ParserState.Stopped;
    this.releaseText();
    this.handler.onProtocolError(new WsProtocolError(closeCode, message));
  }
}
