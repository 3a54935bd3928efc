import { connect, type Socket } from 'node:net';
import {
  ConnectionClosedError,
  encodePacket,
  HSP_HEADER,
  type HspHeaders,
  type HspHeadersInit,
  HspPacketParser,
  HspStatus,
  ProtocolViolationError,
  TimeoutError,
  toSpoolError,
} from '@spool/common';
import { errorOfAnswer } from './errors.js';

/** Where an HSP server listens, and the client's limits. */
export interface HspConnectionOptions {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  /** Longest wait for the connection, and for each answer (default 30 s). */
  timeoutMs?: number;
  /** Largest answer payload accepted (default 64 MiB), checked before any of it is read. */
  maxAnswerBytes?: number;
}

/** An answer packet from the server. */
export interface HspAnswer {
  /** The `status` header (NaN if it was missing or not a number). */
  readonly status: number;
  readonly headers: HspHeaders;
  readonly payload: Buffer;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** Answers held before anyone asked for them (a server answers each request once; more is a broken server). */
const MAX_UNREAD_ANSWERS = 16;

interface Waiter {
  resolve(answer: HspAnswer): void;
  reject(err: Error): void;
}

/**
 * One TCP connection to an HSP server: packets out, answers in, in order. Answers are read
 * with the shared streaming parser (its limits protect the client too). Several requests
 * may be sent one after another on it; `request` waits for each answer.
 */
export class HspConnection {
  private readonly parser: HspPacketParser;
  private readonly waiters: Waiter[] = [];
  private readonly answers: HspAnswer[] = [];
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
    maxAnswerBytes: number,
  ) {
    this.parser = new HspPacketParser({ maxHeaderBytes: 0xffff, maxPayloadBytes: maxAnswerBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) => this.fail(new ConnectionClosedError(`HSP connection failed: ${err.message}`)));
    socket.on('close', () => this.fail(new ConnectionClosedError('HSP connection closed by the server')));
  }

  static connect(options: HspConnectionOptions): Promise<HspConnection> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host ?? '127.0.0.1', port: options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError(`No HSP connection to port ${options.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: Error) => {
        clearTimeout(timer);
        reject(new ConnectionClosedError(`Cannot connect to the HSP server: ${err.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new HspConnection(socket, timeoutMs, options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES));
      });
    });
  }

  get isOpen(): boolean {
    return this.failure === undefined;
  }

  /** Sends a packet and waits for its answer; an answer whose status is not 0 (or 1) throws HspStatusError. */
  async request(headers: HspHeadersInit, payload?: Uint8Array | string): Promise<HspAnswer> {
    await this.send(encodePacket(headers, payload));
    const answer = await this.nextAnswer();
    if (answer.status !== HspStatus.OK && answer.status !== HspStatus.RECEIVED) throw errorOfAnswer(answer);
    return answer;
  }

  /** Writes bytes (a packet, or a stream's raw data); resolves once the socket took them (back-pressure). */
  send(data: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.socket.write(data)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off('drain', onDrain);
        reject(this.failure ?? new ConnectionClosedError('HSP connection closed'));
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  /** The next answer, in order (waits up to the timeout; `timeoutMs` 0 = as long as the connection lives). */
  nextAnswer(timeoutMs = this.timeoutMs): Promise<HspAnswer> {
    const ready = this.answers.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.fail(new TimeoutError(`No HSP answer within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      this.waiters.push({
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  /** Ends the connection (after what was written). */
  close(): void {
    this.socket.end();
    this.socket.destroySoon();
  }

  /** Cuts the connection at once. */
  destroy(): void {
    this.fail(new ConnectionClosedError('HSP connection closed by the client'));
  }

  private onData(chunk: Buffer): void {
    this.parser.push(chunk);
    try {
      for (let packet = this.parser.next(); packet; packet = this.parser.next()) {
        const statusText = packet.headers.get(HSP_HEADER.STATUS);
        const answer = {
          status: statusText === undefined ? Number.NaN : Number(statusText),
          headers: packet.headers,
          payload: packet.payload,
        };
        const waiter = this.waiters.shift();
        if (waiter) waiter.resolve(answer);
        else if (this.answers.length < MAX_UNREAD_ANSWERS) this.answers.push(answer);
        else throw new Error(`more than ${MAX_UNREAD_ANSWERS} answers nobody asked for`);
      }
    } catch (err) {
      this.fail(new ProtocolViolationError(`The HSP server sent a malformed answer: ${toSpoolError(err).message}`));
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.socket.destroy();
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
  }
}
