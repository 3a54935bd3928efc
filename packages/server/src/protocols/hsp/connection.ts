import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import {
  ConnectionClosedError,
  ErrorCode,
  encodePacketHead,
  HSP_HEADER,
  type HspDataFormat,
  type HspHeaders,
  type HspPacket,
  HspPacketParser,
  type HspParserLimits,
  HspStatus,
  TimeoutError,
  toSpoolError,
} from '@spool/common';
import type { Logger } from 'winston';
import { BodyWatchdog } from '../../transport/http/body-watchdog.js';
import { LINGER_MS } from '../../transport/http/linger.js';
import type { Farewell } from '../protocol.js';
import { type HspError, hspErrorOf } from './status-mapping.js';

/** Headers of an answer after `data-format` and `status`, in order. */
export type HspReplyHeaders = Readonly<Record<string, string>>;

/** Where the bytes of a stream request go (an UploadSession): false from `write` = wait for 'drain'. */
export interface RawSink {
  write(chunk: Buffer): boolean;
  on(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}

/** Why a stream request's bytes stopped before all of them came. */
export type RawCut = { reason: 'closed' | 'ended' | 'idle' | 'shutdown' | 'takeover' } | { reason: 'failed'; error: unknown };

export interface RawEnd {
  /** Bytes handed to the sink. */
  received: number;
  cut?: RawCut;
}

/** One request as its route sees it. */
export interface HspRequest {
  readonly route: string;
  readonly headers: HspHeaders;
  readonly payload: Buffer;
  readonly dataFormat: HspDataFormat;
}

/** What a route may do with the connection its request came on. */
export interface HspExchange {
  readonly logger: Logger;
  /** Whether anything of an answer was sent (after that, an error can only close the connection). */
  readonly answered: boolean;
  /** Sends an answer: `data-format`, `status`, then `headers`; resolves once the socket took it. */
  reply(status: HspStatus, headers: HspReplyHeaders, payload?: Buffer | string, dataFormat?: HspDataFormat): Promise<void>;
  /** Sends an answer whose payload, `length` bytes, is read from `source` as the peer takes it. */
  replyStreaming(headers: HspReplyHeaders, length: number, source: Readable, dataFormat: HspDataFormat): Promise<void>;
  /** The error answer of `err` (status from the one mapping, `x-error` code, the message as text payload). */
  replyError(err: unknown, headers?: HspReplyHeaders): Promise<HspError>;
  /** Receives `expected` raw bytes into `sink`: a stream request's data. Never rejects: a cut is in the result. */
  receiveRaw(expected: number, sink: RawSink): Promise<RawEnd>;
  /** Stops a `receiveRaw` in progress (another connection resumed the stream). */
  cut(reason: 'takeover'): void;
  /** Ends the connection once the answers sent so far are out (a stream whose framing is lost). */
  close(): void;
}

export interface HspRouteTable {
  dispatch(request: HspPacket, exchange: HspExchange): Promise<void>;
}

export interface HspConnectionOptions {
  limits: HspParserLimits;
  idleTimeoutMs: number;
  packetTimeoutMs: number;
  logger: Logger;
}

interface RawState {
  left: number;
  received: number;
  sink: RawSink;
  waitingDrain: boolean;
  onDrain: () => void;
  resolve: (end: RawEnd) => void;
}

let connections = 0;

/**
 * One HSP connection: packets read with the streaming parser, one request handled at a
 * time (the socket paused meanwhile, so a pipelining client is held to one packet and
 * one chunk), a stream request's raw bytes fed to its sink with back-pressure, and the
 * connection's limits: an idle timeout (no byte while the server waits for one), a
 * deadline per packet (slow senders), a stall limit on answers the peer does not read.
 * A malformed packet is answered 129 with the reason and ends the connection; the
 * answer is lingered over (the rest of the client's bytes read and dropped for a while)
 * so that a reset does not destroy it before the client reads it.
 */
export class HspConnection implements Farewell {
  readonly logger: Logger;
  private readonly parser: HspPacketParser;
  private readonly idle: BodyWatchdog;
  private packetDeadline: BodyWatchdog | undefined;
  private handling = false;
  private raw: RawState | undefined;
  /** The peer half-closed: no more requests will come. */
  private readEnded = false;
  private closed = false;
  /** We ended (or are ending) the connection: incoming bytes are dropped. */
  private ending = false;
  private shuttingDown = false;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly routes: HspRouteTable,
    private readonly options: HspConnectionOptions,
  ) {
    this.logger = options.logger.child({ connectionId: `hsp-${++connections}`, remote: socket.remoteAddress });
    this.parser = new HspPacketParser(options.limits);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onClose());
    socket.on('error', (err: Error) => this.logger.debug('hsp socket error', { error: err.message }));
    this.idle = new BodyWatchdog(socket, { idleTimeoutMs: options.idleTimeoutMs, deadlineMs: 0 }, () => this.onIdle());
    this.idle.start();
  }

  goodbye(): void {
    this.shuttingDown = true;
    if (this.raw) this.endRaw({ reason: 'shutdown' });
    else if (!this.handling) this.endGracefully();
  }

  terminate(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.idle.touch();
    if (this.ending) return;
    if (this.raw) {
      this.feedRaw(this.raw, chunk);
      return;
    }
    this.parser.push(chunk);
    this.pump();
  }

  /** Takes the next complete packet, if any and if no request is being handled; else waits for bytes. */
  private pump(): void {
    if (this.handling || this.raw || this.ending || this.closed) return;
    if (this.shuttingDown) {
      this.endGracefully();
      return;
    }
    let packet: HspPacket | undefined;
    try {
      packet = this.parser.next();
    } catch (err) {
      this.refuse(hspErrorOf(err));
      return;
    }
    if (!packet) {
      if (this.parser.inPacket) this.startPacketDeadline();
      if (this.readEnded) this.onReadEnded();
      else this.socket.resume();
      return;
    }
    this.stopPacketDeadline();
    this.handling = true;
    this.socket.pause();
    const exchange = new Exchange(this, packet);
    void this.routes
      .dispatch(packet, exchange)
      .catch((err: unknown) => {
        // A route failed after its answer started (or the peer left): the framing is lost, only closing is left.
        const level = err instanceof ConnectionClosedError ? 'debug' : 'warn';
        this.logger.log(level, 'hsp request failed after its answer started', { error: (err as Error).message });
        this.socket.destroy();
      })
      .finally(() => {
        this.handling = false;
        this.pump();
      });
  }

  private startPacketDeadline(): void {
    if (this.packetDeadline) return;
    const ms = this.options.packetTimeoutMs;
    this.packetDeadline = new BodyWatchdog(this.socket, { idleTimeoutMs: 0, deadlineMs: ms }, () => {
      this.refuse(
        hspErrorOf(new TimeoutError(`Packet not complete within ${ms} ms (hspPacketTimeoutMs): got ${this.parser.describeProgress()}`)),
      );
    });
    this.packetDeadline.start();
  }

  private stopPacketDeadline(): void {
    this.packetDeadline?.stop();
    this.packetDeadline = undefined;
  }

  private onEnd(): void {
    this.readEnded = true;
    if (this.raw) this.endRaw({ reason: 'ended' });
    else this.pump();
  }

  /** The peer sent everything it will: end once the last request is answered, refusing a partial packet. */
  private onReadEnded(): void {
    if (this.parser.inPacket) {
      this.refuse(hspErrorOf(new ConnectionClosedError(`Connection closed mid-packet: got ${this.parser.describeProgress()}`)));
    } else {
      this.endGracefully();
    }
  }

  private onIdle(): void {
    if (this.raw) this.endRaw({ reason: 'idle' });
    else if (!this.ending && !this.handling)
      this.refuse(hspErrorOf(new TimeoutError(`No bytes for ${this.options.idleTimeoutMs} ms (hspIdleTimeoutMs)`)));
  }

  private onClose(): void {
    this.closed = true;
    this.idle.stop();
    this.stopPacketDeadline();
    clearTimeout(this.lingerTimer);
    if (this.raw) this.endRaw({ reason: 'closed' });
  }

  /** Answers a framing error (status 129 …, the reason as text) and ends the connection. */
  private refuse(error: HspError): void {
    if (this.ending || this.closed) return;
    this.logger.info('hsp connection refused', { status: error.status, reason: error.message });
    this.write(answerPacket(error.status, 'text:utf-8', { 'x-error': error.code }, Buffer.from(error.message, 'utf8'))).catch(
      () => undefined,
    );
    this.endGracefully();
  }

  /** Ends our side once written; drops what the peer still sends until it ends too, or LINGER_MS pass. */
  endGracefully(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.stopPacketDeadline();
    this.socket.end();
    this.socket.resume();
    this.lingerTimer = setTimeout(() => this.socket.destroy(), LINGER_MS);
    this.lingerTimer.unref();
  }

  // ---- writing ----------------------------------------------------------------------------

  /** Writes `data`; resolves once the socket took it (after 'drain' if it had to wait). The peer must read within the idle limit. */
  write(data: Buffer): Promise<void> {
    const socket = this.socket;
    if (this.closed || !socket.writable) return Promise.reject(new ConnectionClosedError('HSP connection closed'));
    if (socket.write(data)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        socket.off('drain', onDrain);
        socket.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(new ConnectionClosedError('HSP connection closed'));
      const ms = this.options.idleTimeoutMs;
      const timer = setTimeout(() => {
        socket.destroy();
        done(new TimeoutError(`The peer read nothing of an answer for ${ms} ms (hspIdleTimeoutMs)`));
      }, ms);
      socket.once('drain', onDrain);
      socket.once('close', onClose);
    });
  }

  // ---- raw bytes of a stream request -----------------------------------------------------

  receiveRaw(expected: number, sink: RawSink): Promise<RawEnd> {
    if (this.raw) throw new Error('receiveRaw while receiving');
    return new Promise((resolve) => {
      const state: RawState = {
        left: expected,
        received: 0,
        sink,
        waitingDrain: false,
        resolve,
        onDrain: () => {
          if (this.raw !== state || !state.waitingDrain) return;
          state.waitingDrain = false;
          this.socket.resume();
        },
      };
      this.raw = state;
      sink.on('drain', state.onDrain);
      // Bytes that came with the request packet, before the answer: they are the stream's.
      for (const chunk of this.parser.takeBytes(expected)) {
        if (this.raw !== state) return;
        this.writeRaw(state, chunk);
      }
      if (this.raw !== state) return;
      if (state.left === 0) this.endRaw();
      else if (this.closed) this.endRaw({ reason: 'closed' });
      else if (this.readEnded) this.endRaw({ reason: 'ended' });
      else if (this.shuttingDown) this.endRaw({ reason: 'shutdown' });
      else if (!state.waitingDrain) this.socket.resume();
    });
  }

  private feedRaw(state: RawState, chunk: Buffer): void {
    const part = chunk.length <= state.left ? chunk : chunk.subarray(0, state.left);
    this.writeRaw(state, part);
    if (this.raw !== state) return;
    // What follows the stream's last byte is the next packet.
    if (part.length < chunk.length) this.parser.push(chunk.subarray(part.length));
    if (state.left === 0) this.endRaw();
  }

  private writeRaw(state: RawState, chunk: Buffer): void {
    try {
      if (!state.sink.write(chunk)) {
        state.waitingDrain = true;
        this.socket.pause();
      }
    } catch (error) {
      this.endRaw({ reason: 'failed', error });
      return;
    }
    state.left -= chunk.length;
    state.received += chunk.length;
  }

  endRaw(cut?: RawCut): void {
    const state = this.raw;
    if (!state) return;
    this.raw = undefined;
    state.sink.off('drain', state.onDrain);
    this.socket.pause();
    state.resolve(cut ? { received: state.received, cut } : { received: state.received });
  }
}

/** The answer to one request, sent at most once. */
class Exchange implements HspExchange {
  answered = false;
  /** Another connection took the stream over: a receive not started yet is cut at once. */
  private takenOver = false;

  constructor(
    private readonly connection: HspConnection,
    private readonly packet: HspPacket,
  ) {}

  get logger(): Logger {
    return this.connection.logger;
  }

  async reply(status: HspStatus, headers: HspReplyHeaders, payload: Buffer | string = Buffer.alloc(0), dataFormat?: HspDataFormat) {
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    const format = dataFormat ?? (typeof payload === 'string' ? 'text:utf-8' : 'bytes');
    this.answered = true;
    await this.connection.write(answerPacket(status, format, headers, body));
  }

  async replyStreaming(headers: HspReplyHeaders, length: number, source: Readable, dataFormat: HspDataFormat): Promise<void> {
    this.answered = true;
    try {
      await this.connection.write(encodePacketHead(replyHeaders(HspStatus.OK, dataFormat, headers), length));
      let sent = 0;
      for await (const chunk of source as AsyncIterable<Buffer>) {
        sent += chunk.length;
        await this.connection.write(chunk);
      }
      if (sent !== length) throw new Error(`Answer payload of ${sent} bytes, ${length} announced`);
    } finally {
      source.destroy();
    }
  }

  async replyError(err: unknown, headers: HspReplyHeaders = {}): Promise<HspError> {
    const error = hspErrorOf(err);
    // A refused stream request is told so the sheet's way: x-stream -1, and no key.
    const refusal: HspReplyHeaders = this.packet.headers.has(HSP_HEADER.STREAM) && !this.answered ? { [HSP_HEADER.STREAM]: '-1:0' } : {};
    const route = this.packet.headers.get(HSP_HEADER.ROUTE);
    if (error.code === ErrorCode.INTERNAL) this.logger.error('hsp request failed', { route, error: toSpoolError(err).message });
    else this.logger.info('hsp request refused', { route, status: error.status, reason: error.message });
    await this.reply(error.status, { ...refusal, 'x-error': error.code, ...headers }, error.message);
    return error;
  }

  receiveRaw(expected: number, sink: RawSink): Promise<RawEnd> {
    if (this.takenOver) return Promise.resolve({ received: 0, cut: { reason: 'takeover' } });
    return this.connection.receiveRaw(expected, sink);
  }

  cut(reason: 'takeover'): void {
    this.takenOver = true;
    this.connection.endRaw({ reason });
  }

  close(): void {
    this.connection.endGracefully();
  }
}

function replyHeaders(status: HspStatus, dataFormat: HspDataFormat, headers: HspReplyHeaders): Map<string, string> {
  // data-format first, then status: the order of the sheet's example answer.
  return new Map([[HSP_HEADER.DATA_FORMAT, dataFormat], [HSP_HEADER.STATUS, String(status)], ...Object.entries(headers)]);
}

function answerPacket(status: HspStatus, dataFormat: HspDataFormat, headers: HspReplyHeaders, body: Buffer): Buffer {
  return Buffer.concat([encodePacketHead(replyHeaders(status, dataFormat, headers), body.length), body]);
}
