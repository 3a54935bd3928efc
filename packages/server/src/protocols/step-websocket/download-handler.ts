import {
  CloseCode,
  InvalidMessageError,
  type ResourceStatus,
  StepDownloadClientMessageSchema,
  type StepRequestChunk,
  type StepRequestLines,
  toStepStatusChanged,
} from '@spool/common';
import type { Logger } from 'winston';
import type { SpoolCore } from '../../core/spool-core.js';
import type { WsConnection } from '../../transport/websocket/index.js';
import { inherited } from '../access-rule.js';
import type { MessageDispatcher, MessageTable } from '../shared/message-dispatcher.js';
import { RequestQueue } from '../shared/outbound-pump.js';
import { ResourceReaderConnection } from '../shared/resource-reader.js';
import { closeFrameFor } from './close-mapping.js';

type Request = StepRequestChunk | StepRequestLines;

/** What a download connection accepts: reads of the resource it was authorized to read at the upgrade. */
export const STEP_DOWNLOAD_MESSAGES: MessageTable<typeof StepDownloadClientMessageSchema> = {
  schema: StepDownloadClientMessageSchema,
  key: '@',
  rules: {
    RequestChunk: inherited('reads the resource the connection was authorized to read'),
    RequestLines: inherited('reads the resource the connection was authorized to read'),
  },
};

/**
 * One Step download connection. Everything outbound goes through one ordered pump:
 * replies in request order, each whole and never interleaved; status in between,
 * coalesced to the newest while a reply is being sent (so COMPLETED/FAILED, being the
 * newest, is never lost — the Java server's defect). A status is spaced while the
 * upload keeps changing it (`statusMayGo`), except to a reader waiting at the tail: one
 * that has read every byte (or every line) of the last status it was sent and asks
 * nothing more. Step has no push, so that status is how such a follower learns of new
 * bytes: holding it back would hold its bytes back too.
 */
export class StepDownloadHandler extends ResourceReaderConnection<typeof StepDownloadClientMessageSchema> {
  private readonly requests = new RequestQueue<Request>();
  private pendingStatus: ResourceStatus | undefined;
  /** The last status sent to the client. */
  private sent: ResourceStatus | undefined;
  /** Where the reader's replies reached: the end of its furthest chunk, and of its furthest lines. */
  private readTo = 0;
  private linesTo = 0;

  constructor(
    conn: WsConnection,
    core: SpoolCore,
    resourceId: string,
    messages: MessageDispatcher<typeof StepDownloadClientMessageSchema>,
    private readonly logger: Logger,
  ) {
    super(conn, core, resourceId, messages);
  }

  protected onStatus(status: ResourceStatus): void {
    this.pendingStatus = status;
  }

  protected onMessage(request: Request): void {
    this.requests.push(request);
  }

  protected onBinary(): void {
    this.fail(new InvalidMessageError('Download connections accept no binary data'), CloseCode.UNSUPPORTED_DATA);
  }

  /** Status first (newest only; spaced while it keeps changing, unless the reader waits at the tail), then the next reply. */
  protected step(): Promise<void> | boolean {
    const status = this.pendingStatus;
    if (status && (this.waitsAtTail() || this.statusMayGo(status))) {
      this.pendingStatus = undefined;
      this.sent = status;
      this.statusSent();
      return this.conn.sendText(JSON.stringify(toStepStatusChanged(status)));
    }
    const request = this.requests.shift();
    return request ? this.answer(request) : false;
  }

  /** Nothing asked, and every byte or line of the last status sent already read: the next status is what it waits for. */
  private waitsAtTail(): boolean {
    const sent = this.sent;
    if (!sent || this.requests.length > 0) return false;
    // An empty resource is read whole by anyone: its first bytes are news to every reader.
    return this.readTo >= sent.size || (sent.lines !== null && sent.lines > 0 && this.linesTo >= sent.lines);
  }

  private async answer(request: Request): Promise<void> {
    if (request['@'] === 'RequestChunk') {
      // Scheduled pieces (ingest first, bounded memory), however large the request.
      const pieces = await this.openCatchUp(request.startOffset, request.endOffset);
      await this.conn.sendBinary(pieces, { length: request.endOffset - request.startOffset });
      this.readTo = Math.max(this.readTo, request.endOffset);
      return;
    }
    const lines = await this.core.readLines(this.resourceId, request.startingLineIndex, request.linesCount);
    await this.conn.sendText(JSON.stringify({ '@': 'Lines', lines: lines.map((l) => l.toString('utf8')) }));
    this.linesTo = Math.max(this.linesTo, request.startingLineIndex + lines.length);
  }

  protected fail(err: unknown, code?: number): void {
    if (this.closed) return;
    this.closed = true;
    const frame = closeFrameFor(err);
    this.logger.warn('step download closed on error', {
      connectionId: this.conn.id,
      resourceId: this.resourceId,
      code: code ?? frame.code,
      reason: frame.reason,
    });
    this.conn.close(code ?? frame.code, frame.reason);
  }
}
