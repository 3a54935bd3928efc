import {
  InvalidMessageError,
  InvalidRangeError,
  isTerminal,
  ProtocolViolationError,
  type ResourceStatus,
  SPOOL_RESOURCE_CLIENT_TYPES,
  type SpoolData,
  type SpoolLines,
  type SpoolRange,
  type SpoolReadLines,
  type SpoolReadRange,
  SpoolResourceClientMessageSchema,
  toSpoolStatus,
} from '@spool/common';
import type { Logger } from 'winston';
import type { SpoolCore } from '../../core/spool-core.js';
import type { EncodedFrames, WsConnection } from '../../transport/websocket/index.js';
import { subscribeWhileOpen } from '../shared/subscribe-while-open.js';
import { spoolErrorMessageFor } from './close-mapping.js';
import { parseSpoolMessage } from './parse-message.js';
import { refuseConnection } from './refuse.js';
import type { SharedPushFrames } from './shared-push-frames.js';

/** Largest pushed `data` message: statuses and replies interleave at least this often. */
const PUSH_PIECE_BYTES = 1024 * 1024;
/** Read requests a client may queue before it is cut off (they are answered one at a time). */
const MAX_PENDING_REQUESTS = 256;

type ReadRequest = SpoolReadRange | SpoolReadLines;

/**
 * One Spool resource connection: status push (current at once, then every change), an
 * optional push-follow (`follow` from an offset: the server sends bytes as they become
 * visible), and request/reply reads (`readRange`, `readLines`, with request ids).
 *
 * Everything outbound goes through one pump that waits for each send, so a follower is
 * read for at the pace its socket drains: a stalled follower just stops being read for (no
 * queue per follower; memory O(1)), and never slows the uploader or anyone else. Statuses
 * are coalesced to the newest; a terminal status is sent only after every byte up to its
 * size was pushed to a follower. The usual push — a follower at the tail, its bytes still
 * in the upload's memory — is written synchronously from frames shared by every follower
 * at that point (`SharedPushFrames`), in one socket write.
 */
export class SpoolResourceHandler {
  /** Newest status from the core. */
  private latest: ResourceStatus | undefined;
  /** Last status sent to the client. */
  private sent: ResourceStatus | undefined;
  /** Next byte to push, or undefined when not following. */
  private followOffset: number | undefined;
  private readonly requests: ReadRequest[] = [];
  private pumping = false;
  private closed = false;

  constructor(
    private readonly conn: WsConnection,
    private readonly core: SpoolCore,
    private readonly resourceId: string,
    private readonly shared: SharedPushFrames,
    private readonly logger: Logger,
  ) {
    conn.on('text', (text: string) => this.onText(text));
    conn.on('binaryStart', () => this.fail(new ProtocolViolationError('Resource connections accept no binary data')));
    conn.on('close', () => {
      this.closed = true;
    });
  }

  /** Subscribes to the resource (unknown id → error + close). */
  async start(): Promise<void> {
    try {
      await subscribeWhileOpen(this.core, this.resourceId, this.conn, (status) => {
        this.latest = status;
        this.pump();
      });
    } catch (err) {
      this.fail(err);
    }
  }

  private onText(text: string): void {
    if (this.closed) return;
    try {
      const message = parseSpoolMessage(text, SpoolResourceClientMessageSchema, SPOOL_RESOURCE_CLIENT_TYPES);
      switch (message.type) {
        case 'follow':
          // A new follow replaces the previous one; pieces are placed by their offset.
          this.followOffset = message.from;
          break;
        case 'unfollow':
          this.followOffset = undefined;
          break;
        default:
          if (this.requests.length >= MAX_PENDING_REQUESTS) {
            throw new InvalidMessageError(`More than ${MAX_PENDING_REQUESTS} read requests pending`);
          }
          this.requests.push(message);
      }
      this.pump();
    } catch (err) {
      this.fail(err);
    }
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    this.run();
  }

  /**
   * Sends until there is nothing to do: synchronously while steps complete at once (the
   * usual push), waiting only for a step that must. `pumping` is cleared only in the
   * synchronous step that finds nothing to do, so an event arriving right after starts a
   * new pump and two pumps never run at once.
   */
  private run(): void {
    try {
      for (;;) {
        if (this.closed) return;
        const next = this.step();
        if (next === false) return;
        if (next !== true) {
          next.then(
            () => this.run(),
            (err: unknown) => this.stopOn(err),
          );
          return;
        }
      }
    } catch (err) {
      this.stopOn(err);
    }
  }

  private stopOn(err: unknown): void {
    this.pumping = false;
    this.fail(err);
  }

  /**
   * Sends the next thing due: true when done at once, a promise when under way, false
   * (and clears `pumping`) when idle.
   */
  private step(): Promise<void> | boolean {
    const status = this.latest;
    if (status && this.requests.length === 0) {
      const shared = this.sendShared(status);
      if (shared !== undefined) return shared;
    }
    if (status && status !== this.sent) {
      const bytesStillDue = this.followOffset !== undefined && this.followOffset < status.size;
      if (!isTerminal(status.state) || !bytesStillDue) {
        this.sent = status;
        return this.conn.sendText(JSON.stringify(toSpoolStatus(status)));
      }
    }
    const request = this.requests.shift();
    if (request) return this.answer(request);
    if (this.followOffset !== undefined && status) {
      if (this.followOffset < status.size) {
        return this.push(this.followOffset, Math.min(status.size, this.followOffset + PUSH_PIECE_BYTES));
      }
      if (this.followOffset > status.size && isTerminal(status.state)) {
        throw new InvalidRangeError(`Cannot follow from ${this.followOffset}: resource ${this.resourceId} ended at ${status.size} bytes`, {
          from: this.followOffset,
          size: status.size,
        });
      }
    }
    this.pumping = false;
    return false;
  }

  /**
   * A changed status and, when following, the bytes up to its size, if they fit one piece
   * and are still in the upload's memory: frames shared with every follower at the same
   * point, written at once when the socket has room. Undefined when there is nothing of
   * the kind to send (then `step` goes the general way: requests, storage reads).
   */
  private sendShared(status: ResourceStatus): Promise<void> | true | undefined {
    const statusDue = status !== this.sent;
    const from = this.followOffset;
    let frames: EncodedFrames | undefined;
    if (from === undefined || from >= status.size) {
      if (!statusDue) return undefined;
      frames = this.shared.status(status);
    } else {
      if (status.size - from > PUSH_PIECE_BYTES) return undefined;
      frames = this.shared.update(status, from, statusDue, () => this.core.recentBytes(this.resourceId, from, status.size));
      if (!frames) return undefined;
    }
    this.sent = status;
    const sentAll = () => {
      // A follow/unfollow that arrived meanwhile wins.
      if (from !== undefined && this.followOffset === from && from < status.size) this.followOffset = status.size;
    };
    if (this.conn.trySendEncoded(frames)) {
      sentAll();
      return true;
    }
    return this.conn.sendEncoded(frames).then(sentAll);
  }

  /** Pushes bytes [start, end) read from storage, at the pace the socket drains. */
  private async push(start: number, end: number): Promise<void> {
    const stream = await this.core.openRange(this.resourceId, start, end);
    try {
      const header: SpoolData = { type: 'data', offset: start, length: end - start };
      await this.conn.sendText(JSON.stringify(header));
      await this.conn.sendBinary(stream, { length: end - start });
    } finally {
      stream.destroy();
    }
    // A follow/unfollow that arrived meanwhile wins.
    if (this.followOffset === start) this.followOffset = end;
  }

  /** Answers one read; a refused read gets an `error` with its requestId, the connection stays. */
  private async answer(request: ReadRequest): Promise<void> {
    if (request.type === 'readRange') {
      let stream: Awaited<ReturnType<SpoolCore['openRange']>>;
      try {
        stream = await this.core.openRange(this.resourceId, request.start, request.end);
      } catch (err) {
        await this.conn.sendText(JSON.stringify(spoolErrorMessageFor(err, request.requestId)));
        return;
      }
      try {
        const header: SpoolRange = { type: 'range', requestId: request.requestId, start: request.start, end: request.end };
        await this.conn.sendText(JSON.stringify(header));
        await this.conn.sendBinary(stream, { length: request.end - request.start });
      } finally {
        stream.destroy();
      }
      return;
    }
    let lines: Buffer[];
    try {
      lines = await this.core.readLines(this.resourceId, request.start, request.count);
    } catch (err) {
      await this.conn.sendText(JSON.stringify(spoolErrorMessageFor(err, request.requestId)));
      return;
    }
    const reply: SpoolLines = {
      type: 'lines',
      requestId: request.requestId,
      start: request.start,
      lines: lines.map((l) => l.toString('utf8')),
    };
    await this.conn.sendText(JSON.stringify(reply));
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.closed = true;
    refuseConnection(this.conn, err, this.logger.child({ resourceId: this.resourceId }));
  }
}
