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
import { subscribeWhileOpen } from '../shared/subscribe-while-open.js';
import { closeFrameFor } from './close-mapping.js';
import { parseStepMessage } from './parse-message.js';

/** Requests a client may queue before it is cut off (they are answered one at a time). */
const MAX_PENDING_REQUESTS = 256;

type Request = StepRequestChunk | StepRequestLines;

/**
 * One Step download connection. Everything outbound goes through one ordered pump:
 * replies in request order, each whole and never interleaved; status in between,
 * coalesced to the newest while a reply is being sent (so COMPLETED/FAILED, being the
 * newest, is never lost — the Java server's defect).
 */
export class StepDownloadHandler {
  private readonly requests: Request[] = [];
  private pendingStatus: ResourceStatus | undefined;
  private pumping = false;
  private closed = false;

  constructor(
    private readonly conn: WsConnection,
    private readonly core: SpoolCore,
    private readonly resourceId: string,
    private readonly logger: Logger,
  ) {
    conn.on('text', (text: string) => this.onText(text));
    conn.on('binaryStart', () =>
      this.fail(new InvalidMessageError('Download connections accept no binary data'), CloseCode.UNSUPPORTED_DATA),
    );
    conn.on('close', () => {
      this.closed = true;
    });
  }

  async start(): Promise<void> {
    try {
      await subscribeWhileOpen(this.core, this.resourceId, this.conn, (status) => {
        this.pendingStatus = status;
        this.pump();
      });
    } catch (err) {
      this.fail(err);
    }
  }

  private onText(text: string): void {
    if (this.closed) return;
    try {
      const request = parseStepMessage(text, StepDownloadClientMessageSchema, ['RequestChunk', 'RequestLines']);
      if (this.requests.length >= MAX_PENDING_REQUESTS) {
        throw new InvalidMessageError(`More than ${MAX_PENDING_REQUESTS} requests pending`);
      }
      this.requests.push(request);
      this.pump();
    } catch (err) {
      this.fail(err);
    }
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    this.drain()
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.pumping = false;
      });
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      const status = this.pendingStatus;
      if (status) {
        this.pendingStatus = undefined;
        await this.conn.sendText(JSON.stringify(toStepStatusChanged(status)));
        continue;
      }
      const request = this.requests.shift();
      if (!request) return;
      await this.answer(request);
    }
  }

  private async answer(request: Request): Promise<void> {
    if (request['@'] === 'RequestChunk') {
      const stream = await this.core.openRange(this.resourceId, request.startOffset, request.endOffset);
      try {
        await this.conn.sendBinary(stream, { length: request.endOffset - request.startOffset });
      } finally {
        stream.destroy();
      }
      return;
    }
    const lines = await this.core.readLines(this.resourceId, request.startingLineIndex, request.linesCount);
    await this.conn.sendText(JSON.stringify({ '@': 'Lines', lines: lines.map((l) => l.toString('utf8')) }));
  }

  private fail(err: unknown, code?: number): void {
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
