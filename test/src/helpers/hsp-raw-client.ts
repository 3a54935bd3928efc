/**
 * An HSP client written against the wire (the shared codec for framing, nothing of the
 * SDK): sends exact bytes — well-formed or not — and reads every answer and the close.
 */
import net from 'node:net';
import { encodePacket, type HspHeadersInit, type HspPacket, HspPacketParser } from '@spool/common';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  payload: Buffer;
  /** The answer's bytes exactly as they came. */
  raw: Buffer;
}

export class RawHspSocket {
  readonly socket: net.Socket;
  readonly answers: RawAnswer[] = [];
  /** Bytes received and not yet part of a whole answer. */
  private pending: Buffer[] = [];
  /** Resolves when the server ended or the connection closed. */
  readonly closed: Promise<void>;
  private readonly parser = new HspPacketParser({ maxHeaderBytes: 0xffff, maxPayloadBytes: 256 * 1024 * 1024 });
  private waiters: (() => void)[] = [];
  private isClosed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.pending.push(chunk);
      this.parser.push(chunk);
      for (let p: HspPacket | undefined = this.parser.next(); p; p = this.parser.next()) {
        const all = Buffer.concat(this.pending);
        const length = 12 + all.readUInt16BE(6) + p.payload.length;
        const raw = all.subarray(0, length);
        this.pending = [all.subarray(length)];
        this.answers.push({ status: Number(p.headers.get('status')), headers: Object.fromEntries(p.headers), payload: p.payload, raw });
      }
      this.wake();
    });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.isClosed = true;
        this.wake();
        resolve();
      };
      this.socket.once('end', done);
      this.socket.once('close', done);
    });
  }

  static async open(port: number): Promise<RawHspSocket> {
    const client = new RawHspSocket(port);
    await new Promise<void>((resolve, reject) => {
      client.socket.once('connect', resolve);
      client.socket.once('error', reject);
    });
    return client;
  }

  /** Writes; resolves once the socket took the bytes, or the connection closed (a write to a closed one is dropped). */
  write(bytes: Buffer | string): Promise<void> {
    if (this.isClosed || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.socket.write(bytes)) return resolve();
      this.socket.once('drain', resolve);
      void this.closed.then(resolve);
    });
  }

  send(headers: HspHeadersInit, payload?: Buffer | string): Promise<void> {
    return this.write(encodePacket(headers, payload));
  }

  /** The `index`-th answer of this connection (0-based), waiting up to `timeoutMs`; undefined if the connection closed first. */
  async answer(index: number, timeoutMs = 10_000): Promise<RawAnswer | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.answers.length <= index) {
      if (this.isClosed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no HSP answer #${index} within ${timeoutMs} ms (got ${this.answers.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.answers[index];
  }

  /** Sends a packet and returns its answer (the next one of the connection). */
  async request(headers: HspHeadersInit, payload?: Buffer | string): Promise<RawAnswer> {
    const index = this.answers.length;
    await this.send(headers, payload);
    const answer = await this.answer(index);
    if (!answer) throw new Error('connection closed before the answer');
    return answer;
  }

  /** Waits for the server to close (up to `timeoutMs`); true if it did. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
