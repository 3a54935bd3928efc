import {
  InvalidRangeError,
  isTerminal,
  ProtocolViolationError,
  type ResourceStatus,
  type SpoolData,
  type SpoolLines,
  type SpoolRange,
  type SpoolReadLines,
  type SpoolReadRange,
  SpoolResourceClientMessageSchema,
  toSpoolStatus,
} from '@spool/common';
import type { Logger } from 'winston';
import type { z } from 'zod';
import type { SpoolCore } from '../../core/spool-core.js';
import type { EncodedFrames, WsConnection } from '../../transport/websocket/index.js';
import { inherited } from '../access-rule.js';
import type { MessageDispatcher, MessageTable } from '../shared/message-dispatcher.js';
import { RequestQueue } from '../shared/outbound-pump.js';
import { ResourceReaderConnection } from '../shared/resource-reader.js';
import { spoolErrorMessageFor } from './close-mapping.js';
import { refuseConnection } from './refuse.js';
import type { SharedPushFrames } from './shared-push-frames.js';

/** Largest pushed `data` message: statuses and replies interleave at least this often. */
const PUSH_PIECE_BYTES = 1024 * 1024;

type ReadRequest = SpoolReadRange | SpoolReadLines;

const READS = 'reads the resource the connection was authorized to read';
/** What a resource connection accepts: reads of the resource it was authorized to read at the upgrade. */
export const SPOOL_RESOURCE_MESSAGES: MessageTable<typeof SpoolResourceClientMessageSchema> = {
  schema: SpoolResourceClientMessageSchema,
  key: 'type',
  rules: { follow: inherited(READS), unfollow: inherited(READS), readRange: inherited(READS), readLines: inherited(READS) },
};

/**
 * One Spool resource connection: status push (current at once, then every change — one
 * without bytes at most every 100 ms while they keep coming: `status-ticker.ts`), an
 * optional push-follow (`follow` from an offset: the server sends bytes as they become
 * visible), and request/reply reads (`readRange`, `readLines`, with request ids).
 *
 * Everything outbound goes through one pump that waits for each send, so a follower is
 * read for at the pace its socket drains: a stalled follower just stops being read for (no
 * queue per follower; memory O(1)), and never slows the uploader or anyone else. Statuses
 * are coalesced to the newest (the one sent at a tick is the newest then); a terminal status is sent only after every byte up to its
 * size was pushed to a follower. The usual push — a follower at the tail, its bytes still
 * in the upload's memory — is written synchronously from frames shared by every follower
 * at that point (`SharedPushFrames`), in one socket write.
 */
export class SpoolResourceHandler extends ResourceReaderConnection<typeof SpoolResourceClientMessageSchema> {
  /** Newest status from the core. */
  private latest: ResourceStatus | undefined;
  /** Last status sent to the client. */
  private sent: ResourceStatus | undefined;
  /** Next byte to push, or undefined when not following. */
  private followOffset: number | undefined;
  private readonly requests = new RequestQueue<ReadRequest>();

  constructor(
    conn: WsConnection,
    core: SpoolCore,
    resourceId: string,
    private readonly shared: SharedPushFrames,
    messages: MessageDispatcher<typeof SpoolResourceClientMessageSchema>,
    private readonly logger: Logger,
  ) {
    super(conn, core, resourceId, messages);
  }

  protected onStatus(status: ResourceStatus): void {
    this.latest = status;
  }

  protected onBinary(): void {
    this.fail(new ProtocolViolationError('Resource connections accept no binary data'));
  }

  protected onMessage(message: z.infer<typeof SpoolResourceClientMessageSchema>): void {
    switch (message.type) {
      case 'follow':
        // A new follow replaces the previous one; pieces are placed by their offset.
        this.followOffset = message.from;
        break;
      case 'unfollow':
        this.followOffset = undefined;
        break;
      default:
        this.requests.push(message);
    }
  }

  /** Sends the next thing due: true when done at once, a promise when under way, false when idle. */
  protected step(): Promise<void> | boolean {
    const status = this.latest;
    if (status && this.requests.length === 0) {
      const shared = this.sendShared(status);
      if (shared !== undefined) return shared;
    }
    if (status && status !== this.sent) {
      const bytesStillDue = this.followOffset !== undefined && this.followOffset < status.size;
      if ((!isTerminal(status.state) || !bytesStillDue) && this.statusMayGo(status)) {
        this.sent = status;
        this.statusSent();
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
      if (!statusDue || !this.statusMayGo(status)) return undefined;
      frames = this.shared.status(status);
      this.statusSent();
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

  /** Pushes bytes [start, end) read from storage in scheduled pieces (ingest first), at the pace the socket drains. */
  private async push(start: number, end: number): Promise<void> {
    const pieces = await this.openCatchUp(start, end);
    const header: SpoolData = { type: 'data', offset: start, length: end - start };
    await this.conn.sendText(JSON.stringify(header));
    await this.conn.sendBinary(pieces, { length: end - start });
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

  protected fail(err: unknown): void {
    if (this.closed) return;
    this.closed = true;
    refuseConnection(this.conn, err, this.logger.child({ resourceId: this.resourceId }));
  }
}
