import type { Request, Response } from 'express';
import type { Logger } from 'winston';
import type { SpoolCore } from '../../core/spool-core.js';
import { contentDisposition } from '../../transport/http/content-disposition.js';
import { acceptBody } from '../../transport/http/request-body.js';
import { type FanOutResult, fanOut, type PipeSource } from '../shared/rendezvous/fan-out.js';
import { PipeResource } from '../shared/rendezvous/pipe-resource.js';
import { bodySource, type FormFileSource, firstFormFile, isMultipart } from '../shared/rendezvous/sources.js';
import { PipeRefusal } from './errors.js';

/** Most receivers of one pipe (`?n=`): each holds a connection and a chunk of the transfer. */
export const MAX_PIPE_RECEIVERS = 256;

interface Party {
  readonly req: Request;
  readonly res: Response;
}

/** The parties at one path: waiting until the sender and `n` receivers are there, then transferring. */
interface Meeting {
  readonly path: string;
  readonly n: number;
  sender: Party | undefined;
  readonly receivers: Party[];
  established: boolean;
}

/** `?n=` as piping-server reads it: an integer prefix (`parseInt`), 1 when absent, NaN when not a number. */
export function receiversWanted(req: Request): number {
  const raw: unknown = (req.query as Record<string, unknown>).n;
  return Number.parseInt(typeof raw === 'string' ? raw : raw === undefined ? '1' : '', 10);
}

function gone(party: Party): boolean {
  return party.res.closed || party.res.destroyed || party.req.socket.destroyed;
}

/** Headers the sender may pass on to its receivers (piping-server's `X-Piping`). */
function pipingHeaders(req: Request): Record<string, string[]> {
  const values = req.headersDistinct['x-piping'];
  return values ? { 'X-Piping': values } : {};
}

/** What receivers are told of the bytes: the sender's (or its form part's) type, length and name. */
function receiverHeaders(sender: Request, part: FormFileSource | undefined): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {
    'X-Content-Type-Options': 'nosniff',
    'X-Robots-Tag': 'none',
    ...pipingHeaders(sender),
  };
  const type = part ? part.mimeType : sender.headers['content-type'];
  // As piping-server: HTML is shown as text, never rendered in the server's origin.
  if (type) headers['Content-Type'] = type.replace(/^\s*text\/html\b/i, 'text/plain');
  if (part) {
    if (part.filename) headers['Content-Disposition'] = contentDisposition(part.filename, 'attachment');
  } else {
    const length = sender.headers['content-length'];
    if (length !== undefined) headers['Content-Length'] = length;
    const disposition = sender.headers['content-disposition'];
    if (disposition !== undefined) headers['Content-Disposition'] = disposition;
  }
  return headers;
}

/**
 * Pipes met by path, piping-server's way: whoever comes first waits (as long as it stays
 * connected), the sender with a `200` and progress lines, the receivers with nothing yet;
 * once the sender and all `n` receivers are there, the bytes flow, at the slowest
 * receiver's pace (shared/rendezvous/fan-out.ts), and the path is free again when the
 * transfer ends.
 */
export class PipeMeetings {
  private readonly meetings = new Map<string, Meeting>();
  /** Transfers under way (awaited at shutdown, so their resources end before the core closes). */
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly core: SpoolCore,
    private readonly logger: Logger,
  ) {}

  /** Paths with a party waiting or a transfer running. */
  get size(): number {
    return this.meetings.size;
  }

  private checkN(n: number, side: 'sender' | 'receiver'): void {
    // piping-server words it differently for each side.
    if (Number.isNaN(n)) throw new PipeRefusal(side === 'sender' ? 'Invalid "n" query parameter' : 'Invalid query parameter "n"');
    if (n <= 0) throw new PipeRefusal(`n should > 0, but n = ${n}.`);
    if (n > MAX_PIPE_RECEIVERS) throw new PipeRefusal(`n should be at most ${MAX_PIPE_RECEIVERS}, but n = ${n}.`);
  }

  /** The meeting at `path` a newcomer asking for `n` receivers may join (created if none). */
  private meetingFor(path: string, n: number, side: 'sender' | 'receiver'): Meeting {
    this.checkN(n, side);
    const meeting = this.meetings.get(path);
    if (!meeting) {
      const created: Meeting = { path, n, sender: undefined, receivers: [], established: false };
      this.meetings.set(path, created);
      return created;
    }
    if (meeting.established) throw new PipeRefusal(`Connection on '${path}' has been established already.`);
    if (meeting.n !== n) throw new PipeRefusal(`The number of receivers should be ${meeting.n} but ${n}.`);
    return meeting;
  }

  private forgetIfEmpty(meeting: Meeting): void {
    if (!meeting.established && !meeting.sender && meeting.receivers.length === 0 && this.meetings.get(meeting.path) === meeting) {
      this.meetings.delete(meeting.path);
    }
  }

  send(req: Request, res: Response, path: string): void {
    const n = receiversWanted(req);
    this.checkN(n, 'sender');
    const existing = this.meetings.get(path);
    if (existing?.sender && !existing.established) throw new PipeRefusal(`Another sender has been connected on '${path}'.`);
    const meeting = this.meetingFor(path, n, 'sender');
    const sender: Party = { req, res };
    meeting.sender = sender;
    res.on('close', () => {
      if (meeting.established || meeting.sender !== sender) return;
      meeting.sender = undefined;
      this.forgetIfEmpty(meeting);
    });
    acceptBody(req, res);
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write(`[INFO] Waiting for ${n} receiver(s)...\n`);
    if (meeting.receivers.length > 0) res.write(`[INFO] ${meeting.receivers.length} receiver(s) has/have been connected.\n`);
    this.startIfReady(meeting);
  }

  receive(req: Request, res: Response, path: string): void {
    if (req.headers['service-worker'] === 'script') throw new PipeRefusal('Service Worker registration is rejected.');
    const meeting = this.meetingFor(path, receiversWanted(req), 'receiver');
    if (meeting.receivers.length >= meeting.n) throw new PipeRefusal('The number of receivers has reached limits.');
    const receiver: Party = { req, res };
    meeting.receivers.push(receiver);
    res.on('close', () => {
      if (meeting.established) return;
      const index = meeting.receivers.indexOf(receiver);
      if (index >= 0) meeting.receivers.splice(index, 1);
      this.forgetIfEmpty(meeting);
    });
    meeting.sender?.res.write('[INFO] A receiver was connected.\n');
    this.startIfReady(meeting);
  }

  private startIfReady(meeting: Meeting): void {
    const { sender } = meeting;
    if (!sender || meeting.receivers.length < meeting.n || meeting.established) return;
    meeting.established = true;
    const running: Promise<void> = this.transfer(meeting, sender)
      .catch((err: unknown) => {
        this.logger.warn('pipe transfer failed', { path: meeting.path, error: (err as Error).message });
      })
      .finally(() => {
        this.running.delete(running);
        if (this.meetings.get(meeting.path) === meeting) this.meetings.delete(meeting.path);
      });
    this.running.add(running);
  }

  private async transfer(meeting: Meeting, sender: Party): Promise<void> {
    const { receivers, path } = meeting;
    sender.res.write(`[INFO] Start sending to ${receivers.length} receiver(s)!\n`);
    let source: PipeSource;
    let part: FormFileSource | undefined;
    let resource: PipeResource;
    try {
      part = isMultipart(sender.req) ? await firstFormFile(sender.req) : undefined;
      source = part ?? bodySource(sender.req);
      const contentType = part ? part.mimeType : sender.req.headers['content-type'];
      resource = await PipeResource.open(this.core, this.logger, {
        protocol: 'pipe',
        meetingPoint: path,
        contentType,
        receivers: receivers.length,
      });
    } catch (err) {
      const message = (err as Error).message;
      this.logger.info('pipe refused', { path, error: message });
      sender.res.end(`[ERROR] ${message}\n`);
      for (const receiver of receivers) {
        if (!gone(receiver)) receiver.res.status(400).type('text/plain').send(`[ERROR] The sender failed: ${message}\n`);
      }
      return;
    }
    const live = receivers.filter((receiver) => !gone(receiver));
    const headers = receiverHeaders(sender.req, part);
    for (const receiver of live) receiver.res.writeHead(200, headers).flushHeaders();
    const result: FanOutResult =
      live.length === 0
        ? { end: 'receivers-gone', bytes: 0 }
        : await fanOut(
            source,
            live.map((receiver) => receiver.res),
          );
    this.tellSender(sender, result);
    await resource.close(result);
  }

  private tellSender(sender: Party, result: FanOutResult): void {
    const { res, req } = sender;
    if (gone(sender)) return;
    switch (result.end) {
      case 'finished':
        res.end('[INFO] Sent successfully!\n[INFO] All receiver(s) was/were received successfully.\n');
        return;
      case 'receivers-gone':
        res.end('[INFO] All receiver(s) was/were aborted halfway.\n');
        // The rest of the body has nowhere to go.
        res.once('finish', () => req.destroy());
        return;
      case 'source-aborted':
        res.end('[ERROR] Failed to send.\n');
        return;
    }
  }

  /** At shutdown: every party cut off (a transfer under way ends aborted), transfers awaited. */
  async stop(): Promise<void> {
    for (const meeting of this.meetings.values()) {
      meeting.sender?.req.destroy();
      meeting.sender?.res.destroy();
      for (const receiver of meeting.receivers) receiver.res.destroy();
    }
    await Promise.all(this.running);
    this.meetings.clear();
  }
}
