import {
  CloseCode,
  ProtocolViolationError,
  STEP_UPLOAD_COMPLETED_REASON,
  type StepReadyForUpload,
  StepUploadClientMessageSchema,
  toStepUploadAcknowledged,
} from '@spool/common';
import type { Logger } from 'winston';
import type { z } from 'zod';
import type { SpoolCore } from '../../core/spool-core.js';
import type { UploadSession } from '../../core/upload-session.js';
import type { WsConnection } from '../../transport/websocket/index.js';
import { inherited } from '../access-rule.js';
import type { MessageDispatcher, MessageTable } from '../shared/message-dispatcher.js';
import { runGuarded } from '../shared/run-guarded.js';
import { closeFrameFor } from './close-mapping.js';

type Phase = 'awaitingStart' | 'creating' | 'receiving' | 'finishing' | 'acknowledged' | 'closed';

/** What an upload connection accepts: the connection was authorized to create at the upgrade. */
export const STEP_UPLOAD_MESSAGES: MessageTable<typeof StepUploadClientMessageSchema> = {
  schema: StepUploadClientMessageSchema,
  key: '@',
  rules: {
    StartUpload: inherited('creates the resource the connection was authorized to create'),
    FinishUpload: inherited('ends the upload this connection created'),
  },
};

export interface StepUploadContext {
  core: SpoolCore;
  messages: MessageDispatcher<typeof StepUploadClientMessageSchema>;
  contextId: string | null;
  /** The absolute download URI clients are given for a resource id (with its read token when issued). */
  referenceFor: (id: string, readToken?: string) => string;
  logger: Logger;
}

/**
 * One Step upload connection: StartUpload → ReadyForUpload, one binary message of any
 * size streamed into the core as it arrives, FinishUpload → UploadAcknowledged, then
 * the client closes 1000 "Upload completed". A close before the ack fails the resource
 * (bytes kept); after the ack nothing can flip it.
 */
export class StepUploadHandler {
  private phase: Phase = 'awaitingStart';
  private session: UploadSession | undefined;
  /** Bytes that arrived after StartUpload but before the resource existed (bounded: the socket is paused). */
  private early: Buffer[] = [];
  private inBinaryMessage = false;

  constructor(
    private readonly conn: WsConnection,
    private readonly ctx: StepUploadContext,
  ) {
    conn.on('text', (text: string) => this.guard(() => this.onText(text)));
    conn.on('binaryStart', () => this.guard(() => this.onBinaryStart()));
    conn.on('binaryChunk', (chunk: Buffer) => this.guard(() => this.onBinaryChunk(chunk)));
    conn.on('binaryEnd', () => {
      this.inBinaryMessage = false;
    });
    conn.on('close', (info: { code: number; reason: string }) => void this.onClose(info.code, info.reason));
  }

  private guard(step: () => void | Promise<void>): void {
    runGuarded(step, (err) => this.abort(err));
  }

  private onText(text: string): void | Promise<void> {
    return this.ctx.messages.dispatch(text, (message) => this.onMessage(message));
  }

  private async onMessage(message: z.infer<typeof StepUploadClientMessageSchema>): Promise<void> {
    if (message['@'] === 'StartUpload') {
      if (this.phase !== 'awaitingStart') throw new ProtocolViolationError('StartUpload sent twice');
      this.phase = 'creating';
      this.conn.pause();
      const capabilities = this.ctx.core.access.issueCapabilities();
      const session = await this.ctx.core.createUpload(message.metadata, {
        contextId: this.ctx.contextId,
        writeTokenHash: capabilities?.writeTokenHash,
        readTokenHash: capabilities?.readTokenHash,
      });
      this.session = session;
      session.on('error', (err: unknown) => this.abort(err));
      session.on('idle', (err: unknown) => this.abort(err)); // Step cannot resume: FAILED, close 1008
      session.on('drain', () => this.conn.resume());
      const ready: StepReadyForUpload = {
        '@': 'ReadyForUpload',
        reference: { uri: this.ctx.referenceFor(session.id, capabilities?.readToken) },
      };
      this.ctx.logger.info('step upload started', { resourceId: session.id, connectionId: this.conn.id });
      await this.conn.sendText(JSON.stringify(ready));
      if (this.phase !== 'creating') return; // closed meanwhile
      this.phase = 'receiving';
      const early = this.early;
      this.early = [];
      for (const chunk of early) this.onBinaryChunk(chunk);
      this.conn.resume();
      return;
    }
    if (this.phase !== 'receiving' || !this.session)
      throw new ProtocolViolationError(`FinishUpload before ${this.phase === 'awaitingStart' ? 'StartUpload' : 'ReadyForUpload'}`);
    if (this.inBinaryMessage) throw new ProtocolViolationError('FinishUpload inside the data message');
    this.phase = 'finishing';
    // Empty: the client did not hash (Spool's extension, see STEP_SERVER_CHECKSUM_HEADER); nothing to verify.
    const status = await this.session.finish(message.checksum === '' ? undefined : message.checksum);
    await this.conn.sendText(JSON.stringify(toStepUploadAcknowledged(status.size, status.checksum ?? '', status.lines)));
    if (this.phase === 'finishing') this.phase = 'acknowledged';
  }

  private onBinaryStart(): void {
    if (this.phase === 'awaitingStart') throw new ProtocolViolationError('Binary data before StartUpload');
    if (this.phase !== 'receiving' && this.phase !== 'creating') throw new ProtocolViolationError('Binary data after FinishUpload');
    this.inBinaryMessage = true;
  }

  private onBinaryChunk(chunk: Buffer): void {
    if (this.phase === 'creating') {
      this.early.push(chunk);
      return;
    }
    if (this.phase !== 'receiving' || !this.session) return; // aborted: drop the rest
    if (!this.session.write(chunk)) this.conn.pause();
  }

  /** Ends the connection with the close frame mapped from `err` and fails the resource. */
  private abort(err: unknown): void {
    if (this.phase === 'closed' || this.phase === 'acknowledged') return;
    const frame = closeFrameFor(err);
    this.ctx.logger.warn('step upload refused', {
      connectionId: this.conn.id,
      resourceId: this.session?.id,
      code: frame.code,
      reason: frame.reason,
    });
    this.phase = 'closed';
    // Close once the resource is FAILED, so the client never sees it still IN_PROGRESS.
    const failed = this.session?.fail(frame.reason).catch(() => undefined) ?? Promise.resolve();
    void failed.then(() => this.conn.close(frame.code, frame.reason));
  }

  private async onClose(code: number, reason: string): Promise<void> {
    const phase = this.phase;
    this.phase = 'closed';
    if (!this.session || phase === 'acknowledged' || phase === 'finishing') return;
    const normal = code === CloseCode.NORMAL && reason === STEP_UPLOAD_COMPLETED_REASON;
    const why = normal ? 'Upload closed before FinishUpload' : `Upload connection closed (${code}${reason ? ` ${reason}` : ''})`;
    this.ctx.logger.warn('step upload interrupted', { resourceId: this.session.id, code, reason });
    await this.session.fail(why).catch(() => undefined);
  }
}
