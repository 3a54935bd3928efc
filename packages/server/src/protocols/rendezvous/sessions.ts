import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'winston';
import type { KeyOwners } from '../../core/cluster/key-owners.js';
import type { SpoolCore } from '../../core/spool-core.js';
import { acceptBody } from '../../transport/http/request-body.js';
import { type FanOutResult, fanOut } from '../shared/rendezvous/fan-out.js';
import { PipeResource } from '../shared/rendezvous/pipe-resource.js';
import { bodySource } from '../shared/rendezvous/sources.js';
import { alreadyConnected, RendezvousError, sessionNotFound, sessionTimeout, streamStarted } from './errors.js';

/** The original's state names: waiting, streaming, and the end states. */
export type SessionState =
  | 'CREATED'
  | 'SRC_CONNECTED'
  | 'DST_CONNECTED'
  | 'STREAMING'
  | 'FINISHED'
  | 'SRC_ERROR'
  | 'DST_ERROR'
  | 'SRC_DISCONNECTED'
  | 'DST_DISCONNECTED'
  | 'CLIENT_ERROR'
  | 'TIMEOUT_NO_SRC'
  | 'TIMEOUT_NO_DST'
  | 'TIMEOUT_NO_SRC_NO_DST';

/** Sessions kept at once (waiting, streaming or ended but still visible); past it POST /stream is 503. */
export const MAX_RENDEZVOUS_SESSIONS = 10_000;

export type Side = 'src' | 'dst';

/** A failure one side reported (POST /stream/:id/error), answered to the other side as it is. */
export interface ClientError {
  readonly status: number;
  readonly name: string;
  readonly message: string;
}

interface Waiting {
  readonly req: Request;
  readonly res: Response;
  readonly paired: (transfer: PromiseLike<FanOutResult>) => void;
  readonly refused: (err: Error) => void;
}

export interface RendezvousSession {
  readonly id: string;
  state: SessionState;
  readonly downloadHeaders: Record<string, string>;
  readonly uploadHeaders: Record<string, string>;
  readonly createdAt: Date;
  endedAt: Date | undefined;
  bytes: number;
  /** The core resource of the transfer while it runs. */
  resourceId: string | undefined;
  src: Waiting | undefined;
  dst: Waiting | undefined;
  clientError: ClientError | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Lets go of the stream's id in the cluster (its other routes then go nowhere). */
  readonly release: () => void;
}

/** The cluster keys of streams (`KeyOwners`): a stream is met at the node holding its key. */
export const STREAM_KEY_PREFIX = 'rendezvous:';

export function streamKey(id: string): string {
  return `${STREAM_KEY_PREFIX}${id}`;
}

const SIDE_NAME: Record<Side, string> = { src: 'source', dst: 'destination' };

export interface RendezvousOptions {
  readonly waitMs: number;
  readonly keepEndedMs: number;
}

/**
 * http-rendezvous sessions: created by `POST /stream`, met by one PUT (source) and one
 * GET (destination) within `waitMs` of creation, then the PUT body flows to the GET
 * answer (shared/rendezvous/fan-out.ts: back-pressure, truncation visible). Ended
 * sessions stay visible `keepEndedMs`, then are forgotten. A side that leaves before
 * the pair formed frees its place (it may come again); nothing is listened to on a
 * refused request, so a 429'd duplicate leaves nothing behind.
 */
export class RendezvousSessions {
  private readonly sessions = new Map<string, RendezvousSession>();
  /** Transfers under way (awaited at shutdown, so their resources end before the core closes). */
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly core: SpoolCore,
    private readonly logger: Logger,
    private readonly owners: KeyOwners,
    private readonly options: RendezvousOptions,
  ) {}

  private checkRoom(): void {
    if (this.sessions.size >= MAX_RENDEZVOUS_SESSIONS) {
      throw new RendezvousError(503, 'TooManyStreamsError', `Too many streams (limit ${MAX_RENDEZVOUS_SESSIONS}); try again later`);
    }
  }

  /** A new stream, owned by this node: its PUT, GET, status and error routes arriving at other nodes come here. */
  async create(downloadHeaders: Record<string, string>, uploadHeaders: Record<string, string>): Promise<RendezvousSession> {
    this.checkRoom();
    const id = randomUUID();
    const ownership = await this.owners.claim(streamKey(id));
    if (!ownership.here) throw new Error(`Stream id ${id} is already owned by ${ownership.nodeUrl}`);
    // Checked again after the wait: creations running together stay within the limit.
    try {
      this.checkRoom();
    } catch (err) {
      ownership.release();
      throw err;
    }
    const session: RendezvousSession = {
      id,
      state: 'CREATED',
      downloadHeaders,
      uploadHeaders,
      createdAt: new Date(),
      endedAt: undefined,
      bytes: 0,
      resourceId: undefined,
      src: undefined,
      dst: undefined,
      clientError: undefined,
      timer: undefined,
      release: ownership.release,
    };
    session.timer = setTimeout(() => this.timeOut(session), this.options.waitMs);
    session.timer.unref();
    this.sessions.set(session.id, session);
    this.logger.info('rendezvous stream created', { streamId: session.id });
    return session;
  }

  get(id: string): RendezvousSession {
    const session = this.sessions.get(id);
    if (!session) throw sessionNotFound(id);
    return session;
  }

  list(): RendezvousSession[] {
    return [...this.sessions.values()];
  }

  private ended(session: RendezvousSession): boolean {
    return session.endedAt !== undefined;
  }

  private end(session: RendezvousSession, state: SessionState): void {
    if (this.ended(session)) return;
    session.state = state;
    session.endedAt = new Date();
    // Ended sessions stay listed a while: without the requests they held.
    session.src = undefined;
    session.dst = undefined;
    clearTimeout(session.timer);
    session.timer = setTimeout(() => {
      this.sessions.delete(session.id);
      session.release();
    }, this.options.keepEndedMs);
    session.timer.unref();
    this.logger.info('rendezvous stream ended', { streamId: session.id, state, bytes: session.bytes });
  }

  private waitingState(session: RendezvousSession): SessionState {
    if (session.src) return 'SRC_CONNECTED';
    return session.dst ? 'DST_CONNECTED' : 'CREATED';
  }

  private timeOut(session: RendezvousSession): void {
    const { src, dst } = session;
    this.end(session, src ? 'TIMEOUT_NO_DST' : dst ? 'TIMEOUT_NO_SRC' : 'TIMEOUT_NO_SRC_NO_DST');
    src?.refused(sessionTimeout('the destination'));
    dst?.refused(sessionTimeout('the source'));
  }

  /** Why a side arriving at an ended session is refused: the reported error, the timeout, or gone. */
  private refusalOfEnded(session: RendezvousSession, side: Side): Error {
    if (session.clientError) return clientErrorOf(session.clientError);
    if (session.state.startsWith('TIMEOUT')) return sessionTimeout(side === 'src' ? 'the destination' : 'the source');
    return sessionNotFound(session.id);
  }

  /**
   * Connects one side; resolves with the transfer once the other side is there too (the
   * source's body then flows to the destination), rejects with why not.
   */
  connect(id: string, side: Side, req: Request, res: Response): Promise<FanOutResult> {
    const session = this.get(id);
    if (this.ended(session)) throw this.refusalOfEnded(session, side);
    if (session[side]) throw alreadyConnected(SIDE_NAME[side]);
    return new Promise<FanOutResult>((paired, refused) => {
      const waiting: Waiting = { req, res, paired, refused };
      session[side] = waiting;
      const other = side === 'src' ? session.dst : session.src;
      if (other) {
        this.pair(session);
        return;
      }
      session.state = this.waitingState(session);
      res.once('close', () => {
        if (session[side] !== waiting || session.state === 'STREAMING' || this.ended(session)) return;
        session[side] = undefined;
        session.state = this.waitingState(session);
        refused(new RendezvousError(499, 'ClientClosedError', `Stream ${SIDE_NAME[side]} left before the pair formed`));
      });
    });
  }

  private pair(session: RendezvousSession): void {
    const src = session.src as Waiting;
    const dst = session.dst as Waiting;
    clearTimeout(session.timer);
    session.timer = undefined;
    session.state = 'STREAMING';
    const transfer = this.transfer(session, src, dst);
    const settled = transfer.catch(() => undefined).finally(() => this.running.delete(settled));
    this.running.add(settled);
    src.paired(transfer);
    dst.paired(transfer);
  }

  private async transfer(session: RendezvousSession, src: Waiting, dst: Waiting): Promise<FanOutResult> {
    let resource: PipeResource;
    try {
      resource = await PipeResource.open(this.core, this.logger, {
        protocol: 'rendezvous',
        meetingPoint: session.id,
        contentType: headerIn(session.downloadHeaders, 'content-type') ?? src.req.headers['content-type'],
        receivers: 1,
      });
    } catch (err) {
      this.end(session, 'SRC_ERROR');
      throw err;
    }
    session.resourceId = resource.id;
    acceptBody(src.req, src.res);
    let result: FanOutResult;
    if (dst.res.closed || dst.res.destroyed) result = { end: 'receivers-gone', bytes: 0 };
    else {
      dst.res.writeHead(200, session.downloadHeaders);
      dst.res.flushHeaders();
      result = await fanOut(bodySource(src.req), [dst.res], {
        progress: (bytes) => {
          session.bytes = bytes;
        },
      });
    }
    session.bytes = result.bytes;
    this.end(session, result.end === 'finished' ? 'FINISHED' : result.end === 'source-aborted' ? 'SRC_DISCONNECTED' : 'DST_DISCONNECTED');
    await resource.close(result);
    return result;
  }

  /** One side reports a failure before the pair formed: the other side (now or later) gets it. */
  reportError(id: string, error: ClientError): void {
    const session = this.get(id);
    if (session.state === 'STREAMING' || (this.ended(session) && !session.clientError)) throw streamStarted();
    session.clientError = error;
    const { src, dst } = session;
    this.end(session, 'CLIENT_ERROR');
    src?.refused(clientErrorOf(error));
    dst?.refused(clientErrorOf(error));
  }

  /** At shutdown: timers stopped, every side cut off (a transfer under way ends aborted), transfers awaited. */
  async stop(): Promise<void> {
    for (const session of this.sessions.values()) {
      clearTimeout(session.timer);
      session.release();
      session.src?.req.destroy();
      session.src?.res.destroy();
      session.dst?.res.destroy();
    }
    await Promise.all(this.running);
    this.sessions.clear();
  }
}

function headerIn(headers: Record<string, string>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

export function clientErrorOf(error: ClientError): RendezvousError {
  return new RendezvousError(error.status, error.name, error.message);
}

/** A session as `GET /stream` and `GET /stream/:id/status` show it (the original's field names). */
export function sessionJson(session: RendezvousSession): Record<string, unknown> {
  return {
    id: session.id,
    state: session.state,
    download_headers: session.downloadHeaders,
    upload_headers: session.uploadHeaders,
    bytes_transferred: session.bytes,
    created_at: session.createdAt.toISOString(),
    ended_at: session.endedAt?.toISOString() ?? null,
    resource_id: session.resourceId ?? null,
  };
}
