import {
  type ChecksumAlgorithm,
  type Checksums,
  ErrorCode,
  ProtocolViolationError,
  type SpoolAborted,
  type SpoolCompleted,
  type SpoolCreate,
  SpoolError,
  type SpoolReady,
  type SpoolReferences,
  type SpoolResume,
  SpoolUploadClientMessageSchema,
} from '@spool/common';
import type { Logger } from 'winston';
import type { z } from 'zod';
import type { SpoolCore } from '../../core/spool-core.js';
import type { UploadSession } from '../../core/upload-session.js';
import type { WsCloseInfo, WsConnection } from '../../transport/websocket/index.js';
import { authenticated, inherited, requires } from '../access-rule.js';
import type { WebSocketRequest } from '../protocol.js';
import type { MessageDispatcher, MessageTable } from '../shared/message-dispatcher.js';
import { runGuarded } from '../shared/run-guarded.js';
import { DurableAcks } from './durable-acks.js';
import { refuseConnection } from './refuse.js';

/**
 * awaiting (create/resume) → opening (core call under way) → receiving (data) →
 * finishing (finish under way) → ended (completed/aborted sent); closed at any point.
 */
type Phase = 'awaiting' | 'opening' | 'receiving' | 'finishing' | 'ended' | 'closed';

/** The upload connection's access: any known credential connects; each message needs its own permission. */
export const SPOOL_UPLOAD_ACCESS = authenticated<WebSocketRequest>('create and resume each need their own permission');

/** What an upload connection accepts, and what each message needs. */
export const SPOOL_UPLOAD_MESSAGES: MessageTable<typeof SpoolUploadClientMessageSchema> = {
  schema: SpoolUploadClientMessageSchema,
  key: 'type',
  rules: {
    create: requires<SpoolCreate>('create'),
    resume: requires<SpoolResume>('write', (message) => message.id),
    finish: inherited('ends the upload this connection created or resumed'),
    abort: inherited('ends the upload this connection created or resumed'),
  },
};

export interface SpoolUploadContext {
  core: SpoolCore;
  /** Parses each message and enforces its rule for the connection's principal. */
  messages: MessageDispatcher<typeof SpoolUploadClientMessageSchema>;
  /** The shareable URIs of a resource (with its read token when one was issued). */
  references: (id: string, readToken?: string) => SpoolReferences;
  /** Refuse `create` without a contextId (the server's requireUploadContext). */
  requireUploadContext: boolean;
  /** The checksums of an upload that does not choose (uploadChecksums). */
  checksums: readonly ChecksumAlgorithm[];
  logger: Logger;
}

/**
 * One Spool upload connection: `create` or `resume` → `ready` (with the durable offset
 * to continue from), binary messages appended in order (back-pressure: the socket is
 * paused while the session's disk queue is full), `durable` acks as checkpoints make
 * bytes durable, then `finish` → `completed` or `abort` → `aborted`.
 *
 * A connection that ends without finish/abort *releases* the writer: the resource stays
 * IN_PROGRESS with every received byte, resumable within the server's grace period. An
 * error (bad message, quota, storage) fails the resource and closes the connection.
 */
export class SpoolUploadHandler {
  private phase: Phase = 'awaiting';
  private session: UploadSession | undefined;
  private acks: DurableAcks | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly conn: WsConnection,
    private readonly ctx: SpoolUploadContext,
  ) {
    conn.on('text', (text: string) => this.guard(() => this.onText(text)));
    conn.on('binaryStart', () => this.guard(() => this.onBinaryStart()));
    conn.on('binaryChunk', (chunk: Buffer) => this.guard(() => this.onBinaryChunk(chunk)));
    conn.on('close', (info: WsCloseInfo) => void this.onClose(info));
  }

  private guard(step: () => void | Promise<void>): void {
    runGuarded(step, (err) => this.refuse(err));
  }

  private onText(text: string): void | Promise<void> {
    return this.ctx.messages.dispatch(text, (message) => this.onMessage(message));
  }

  private async onMessage(message: z.infer<typeof SpoolUploadClientMessageSchema>): Promise<void> {
    switch (message.type) {
      case 'create':
      case 'resume':
        return this.open(message);
      case 'finish':
        return this.finish(message.md5 === undefined ? (message.checksums ?? {}) : { ...message.checksums, md5: message.md5 });
      case 'abort':
        return this.abort(message.reason);
    }
  }

  private async open(message: SpoolCreate | SpoolResume): Promise<void> {
    if (this.phase !== 'awaiting')
      throw new ProtocolViolationError(`${message.type} after the upload was opened (one create or resume per connection)`);
    this.phase = 'opening';
    const { core, logger } = this.ctx;
    let session: UploadSession;
    let readToken: string | undefined;
    let writeToken: string | undefined;
    let name: string | null;
    const checksum = message.checksums ?? this.ctx.checksums;
    if (message.type === 'create') {
      if (this.ctx.requireUploadContext && !message.contextId) {
        throw new SpoolError(ErrorCode.CONTEXT_REQUIRED, 'This server requires a contextId in create');
      }
      const capabilities = core.access.issueCapabilities();
      session = await core.createUpload(message.metadata, {
        contextId: message.contextId ?? null,
        name: message.name ?? null,
        resumable: true,
        writeTokenHash: capabilities?.writeTokenHash,
        readTokenHash: capabilities?.readTokenHash,
        checksum,
      });
      readToken = capabilities?.readToken;
      writeToken = capabilities?.writeToken;
      name = message.name ?? null;
    } else {
      ({ name } = await core.getRecord(message.id));
      session = await core.resumeUpload(message.id, message.offset, { checksum });
    }
    if (this.phase !== 'opening') {
      // The client left while the core was opening: leave the resource resumable.
      await session.release().catch(() => undefined);
      return;
    }
    this.session = session;
    session.on('error', (err: unknown) => this.refuse(err));
    session.on('idle', (err: unknown) => this.releaseIdle(err));
    session.on('drain', () => this.conn.resume());
    const offset = session.status.size;
    const ready: SpoolReady = {
      type: 'ready',
      id: session.id,
      ...(name ? { name } : {}),
      offset,
      state: session.status.state,
      references: this.ctx.references(session.id, readToken),
      ...(writeToken ? { writeToken } : {}),
      ...(readToken ? { readToken } : {}),
    };
    // Data the client sends once it has read `ready` is accepted from here on.
    this.phase = 'receiving';
    const sent = this.conn.sendText(JSON.stringify(ready));
    const acks = new DurableAcks((durable) => this.conn.sendText(JSON.stringify({ type: 'durable', offset: durable })), offset);
    this.acks = acks;
    logger.info(message.type === 'create' ? 'spool upload created' : 'spool upload resumed', {
      resourceId: session.id,
      offset,
      connectionId: this.conn.id,
    });
    // Each checkpoint's recorded size is durable (visible may run ahead): tell the uploader as it grows.
    const onDurable = (size: number) => acks.offer(size);
    session.on('durable', onDurable);
    this.unsubscribe = () => session.off('durable', onDurable);
    await sent;
  }

  private onBinaryStart(): void {
    if (this.phase === 'receiving') return;
    if (this.phase === 'awaiting') throw new ProtocolViolationError('Binary data before create or resume');
    if (this.phase === 'opening') throw new ProtocolViolationError('Binary data before ready');
    if (this.phase !== 'closed') throw new ProtocolViolationError('Binary data after finish or abort');
  }

  private onBinaryChunk(chunk: Buffer): void {
    if (this.phase !== 'receiving' || !this.session) return; // refused: drop the rest
    if (!this.session.write(chunk)) this.conn.pause();
  }

  private async finish(expected: Checksums): Promise<void> {
    const session = this.requireReceiving('finish');
    this.phase = 'finishing';
    this.stopAcks();
    const status = await session.finish(expected);
    if (this.phase === 'finishing') this.phase = 'ended';
    const completed: SpoolCompleted = {
      type: 'completed',
      size: status.size,
      // Clients of before `checksums` require md5: '' says none was computed.
      md5: status.checksum ?? '',
      checksums: status.checksums ?? {},
      lines: status.lines,
    };
    this.ctx.logger.info('spool upload completed', { resourceId: session.id, size: status.size });
    await this.conn.sendText(JSON.stringify(completed));
  }

  private async abort(reason: string | undefined): Promise<void> {
    const session = this.requireReceiving('abort');
    this.phase = 'ended';
    this.stopAcks();
    const status = await session.fail(reason ? `Aborted by the uploader: ${reason}` : 'Aborted by the uploader');
    this.ctx.logger.info('spool upload aborted', { resourceId: session.id, size: status.size, reason });
    const aborted: SpoolAborted = { type: 'aborted', size: status.size };
    await this.conn.sendText(JSON.stringify(aborted));
  }

  private requireReceiving(type: string): UploadSession {
    if (this.phase === 'receiving' && this.session) return this.session;
    if (this.phase === 'awaiting') throw new ProtocolViolationError(`${type} before create or resume`);
    if (this.phase === 'opening') throw new ProtocolViolationError(`${type} before ready`);
    throw new ProtocolViolationError(`${type} after the upload ended`);
  }

  /** Ends the connection with the error; the resource is FAILED (its bytes kept) if it was open here. */
  private refuse(err: unknown): void {
    if (this.phase === 'closed') return;
    const failsResource = this.phase === 'receiving' || this.phase === 'finishing';
    this.phase = 'closed';
    this.stopAcks();
    // Close once the resource is FAILED, so the client never sees it still IN_PROGRESS.
    const failed =
      failsResource && this.session ? this.session.fail((err as Error).message ?? String(err)).catch(() => undefined) : Promise.resolve();
    void failed.then(() => refuseConnection(this.conn, err, this.ctx.logger));
  }

  /** The uploader went quiet: its writer is released (the resource stays resumable), then the error and close. */
  private releaseIdle(err: unknown): void {
    if (this.phase !== 'receiving' || !this.session) return;
    this.phase = 'closed';
    this.stopAcks();
    const released = this.session.release().catch(() => undefined);
    void released.then(() => refuseConnection(this.conn, err, this.ctx.logger));
  }

  private stopAcks(): void {
    this.acks?.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private async onClose(info: WsCloseInfo): Promise<void> {
    const phase = this.phase;
    this.phase = 'closed';
    this.stopAcks();
    const session = this.session;
    if (!session || phase !== 'receiving') return;
    // No finish, no abort: the uploader may come back (resume) within the grace period.
    this.ctx.logger.info('spool upload detached; resumable', {
      resourceId: session.id,
      received: session.receivedBytes,
      code: info.code,
      reason: info.reason,
    });
    await session.release().catch((err: unknown) => {
      this.ctx.logger.warn('release after disconnect failed', { resourceId: session.id, error: (err as Error).message });
    });
  }
}
