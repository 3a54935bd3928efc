import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  type ResourceStatus,
  STEP_DOWNLOAD_PATH_PREFIX,
  STEP_SERVER_CHECKSUM_HEADER,
  STEP_SERVER_CHECKSUM_VALUE,
  STEP_UPLOAD_CONTEXT_PARAM,
  STEP_UPLOAD_PATH,
  StepDownloadClientMessageSchema,
  StepUploadClientMessageSchema,
  type TransferState,
  toStepStatusChanged,
  toStepUploadAcknowledged,
} from '@spool/common';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

/** One client frame as seen on the wire. */
export interface RecordedFrame {
  opcode: number;
  fin: boolean;
  length: number;
}

export interface RecordedUpload {
  resourceId: string | undefined;
  url: string;
  frames: RecordedFrame[];
  finishChecksum: string | undefined;
  close: { code: number; reason: string } | undefined;
  closed: Promise<void>;
}

export interface FakeStepServerOptions {
  /** Refuse uploads without an upload context, like a server configured to require one. */
  requireContext?: boolean;
  /** Close 1008 "QuotaExceededException: …" when an upload's data exceeds this many bytes. */
  quotaBytes?: number;
  /** Answer FinishUpload with close 1011, as on a checksum mismatch. */
  rejectChecksum?: boolean;
  /** Send only the misspelled `numberOflines` in UploadAcknowledged, as the Java server does. */
  javaAckSpelling?: boolean;
  /** Stop reading upload sockets after StartUpload (to exercise client back-pressure). */
  stallUploads?: boolean;
  /** Announce that the server hashes (as Spool does) and accept an empty FinishUpload checksum. */
  announceServerChecksum?: boolean;
}

interface FakeResource {
  data: Buffer[];
  size: number;
  state: TransferState;
  lineAccess: boolean;
  followers: Set<WebSocket>;
}

/**
 * A minimal in-memory Step server for SDK tests. Built on `ws`, so it only sees an upload's
 * data once the whole message has arrived; the frames themselves are recorded by parsing
 * the raw socket bytes. Resources can also be created and grown by the test directly.
 */
export class FakeStepServer {
  readonly uploads: RecordedUpload[] = [];
  readonly #server: http.Server;
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  readonly #resources = new Map<string, FakeResource>();
  readonly #options: FakeStepServerOptions;
  #nextId = 1;
  url = '';

  static async start(options: FakeStepServerOptions = {}): Promise<FakeStepServer> {
    const server = new FakeStepServer(options);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    server.url = `ws://127.0.0.1:${(server.#server.address() as AddressInfo).port}`;
    return server;
  }

  private constructor(options: FakeStepServerOptions) {
    this.#options = options;
    this.#server = http.createServer((_, res) => res.writeHead(404).end());
    if (options.announceServerChecksum) {
      this.#wss.on('headers', (headers: string[]) => headers.push(`${STEP_SERVER_CHECKSUM_HEADER}: ${STEP_SERVER_CHECKSUM_VALUE}`));
    }
    this.#server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === STEP_UPLOAD_PATH) {
        const recorded = this.#recordUpload(url.href, socket, head);
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onUpload(ws, url, recorded, socket));
      } else if (url.pathname.startsWith(STEP_DOWNLOAD_PATH_PREFIX)) {
        const id = decodeURIComponent(url.pathname.slice(STEP_DOWNLOAD_PATH_PREFIX.length));
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onDownload(ws, id));
      } else {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      }
    });
  }

  /** Creates a resource the test grows by hand. */
  createResource(id: string, lineAccess = true): void {
    this.#resources.set(id, { data: [], size: 0, state: 'INITIATED', lineAccess, followers: new Set() });
  }

  append(id: string, bytes: Buffer | string): void {
    const resource = this.#resource(id);
    const chunk = Buffer.from(bytes);
    resource.data.push(chunk);
    resource.size += chunk.length;
    resource.state = 'IN_PROGRESS';
    this.#broadcast(id);
  }

  setState(id: string, state: TransferState): void {
    this.#resource(id).state = state;
    this.#broadcast(id);
  }

  contentOf(id: string): Buffer {
    return Buffer.concat(this.#resource(id).data);
  }

  statusOf(id: string): ResourceStatus {
    const resource = this.#resource(id);
    const content = Buffer.concat(resource.data);
    let lines: number | null = null;
    if (resource.lineAccess) {
      lines = 0;
      for (const byte of content) if (byte === 0x0a) lines++;
      const terminal = resource.state === 'COMPLETED' || resource.state === 'FAILED';
      if (terminal && content.length > 0 && content[content.length - 1] !== 0x0a) lines++;
    }
    return { id, state: resource.state, size: resource.size, lines };
  }

  /** Stops reading from every download connection of `id` (a hung peer: no pongs, no replies). */
  stallFollowers(id: string): void {
    for (const ws of this.#resource(id).followers) ws.pause();
  }

  /** Drops every download connection of `id` without a close frame. */
  dropFollowers(id: string): void {
    for (const ws of this.#resource(id).followers) ws.terminate();
  }

  async close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #resource(id: string): FakeResource {
    const resource = this.#resources.get(id);
    if (!resource) throw new Error(`No resource ${id}`);
    return resource;
  }

  #broadcast(id: string): void {
    const message = JSON.stringify(toStepStatusChanged(this.statusOf(id)));
    for (const ws of this.#resource(id).followers) ws.send(message);
  }

  #recordUpload(url: string, socket: Socket, head: Buffer): RecordedUpload {
    let markClosed: () => void = () => undefined;
    const recorded: RecordedUpload = {
      resourceId: undefined,
      url,
      frames: [],
      finishChecksum: undefined,
      close: undefined,
      closed: new Promise((resolve) => {
        markClosed = resolve;
      }),
    };
    socket.once('close', () => markClosed());
    const parser = new FrameHeaderParser((frame) => recorded.frames.push(frame));
    if (head.length > 0) parser.push(head);
    socket.on('data', (data: Buffer) => parser.push(data));
    this.uploads.push(recorded);
    return recorded;
  }

  #onUpload(ws: WebSocket, url: URL, recorded: RecordedUpload, socket: Socket): void {
    if (this.#options.requireContext && !url.searchParams.has(STEP_UPLOAD_CONTEXT_PARAM)) {
      ws.close(1008, 'Missing parameter streamingUploadContextId');
      return;
    }
    let id: string | undefined;
    let acknowledged = false;
    const md5 = createHash('md5');
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = data as Buffer;
      if (isBinary) {
        if (!id) return ws.close(1002, 'Data before StartUpload');
        if (this.#options.quotaBytes !== undefined && this.#resource(id).size + bytes.length > this.#options.quotaBytes) {
          return ws.close(1008, `QuotaExceededException: upload larger than ${this.#options.quotaBytes} bytes`);
        }
        md5.update(bytes);
        this.append(id, bytes);
        return;
      }
      const message = StepUploadClientMessageSchema.parse(JSON.parse(bytes.toString()));
      if (message['@'] === 'StartUpload') {
        id = `r${this.#nextId++}`;
        recorded.resourceId = id;
        this.createResource(id, message.metadata.supportsLineAccess);
        ws.send(JSON.stringify({ '@': 'ReadyForUpload', reference: { uri: `${this.url}${STEP_DOWNLOAD_PATH_PREFIX}${id}` } }));
        if (this.#options.stallUploads) socket.pause();
        return;
      }
      recorded.finishChecksum = message.checksum;
      const actual = md5.digest('hex');
      if (!id) return ws.close(1002, 'FinishUpload before StartUpload');
      const unverified = this.#options.announceServerChecksum && message.checksum === '';
      if (this.#options.rejectChecksum || (actual !== message.checksum && !unverified)) {
        return ws.close(1011, `Checksum mismatch: client sent ${message.checksum}, server computed ${actual}`);
      }
      acknowledged = true;
      this.setState(id, 'COMPLETED');
      const status = this.statusOf(id);
      const ack = toStepUploadAcknowledged(status.size, actual, status.lines);
      if (this.#options.javaAckSpelling) delete ack.numberOfLines;
      ws.send(JSON.stringify(ack));
    });
    ws.on('close', (code: number, reason: Buffer) => {
      recorded.close = { code, reason: reason.toString() };
      if (id && !acknowledged) this.setState(id, 'FAILED');
    });
  }

  #onDownload(ws: WebSocket, id: string): void {
    const resource = this.#resources.get(id);
    if (!resource) {
      ws.close(1008, `Unknown resource ${id}`);
      return;
    }
    resource.followers.add(ws);
    ws.on('close', () => resource.followers.delete(ws));
    ws.send(JSON.stringify(toStepStatusChanged(this.statusOf(id))));
    ws.on('message', (data: RawData) => {
      const request = StepDownloadClientMessageSchema.parse(JSON.parse((data as Buffer).toString()));
      const content = Buffer.concat(resource.data);
      if (request['@'] === 'RequestChunk') {
        if (request.endOffset > content.length) return ws.close(1008, 'Range past the end');
        ws.send(content.subarray(request.startOffset, request.endOffset));
        return;
      }
      const lines = content.toString('utf8').match(/[^\n]*\n|[^\n]+$/g) ?? [];
      ws.send(
        JSON.stringify({ '@': 'Lines', lines: lines.slice(request.startingLineIndex, request.startingLineIndex + request.linesCount) }),
      );
    });
  }
}

/** Reads WebSocket frame headers from raw (masked, client-to-server) socket bytes. */
class FrameHeaderParser {
  readonly #onFrame: (frame: RecordedFrame) => void;
  #pending = Buffer.alloc(0);
  #payloadToSkip = 0;

  constructor(onFrame: (frame: RecordedFrame) => void) {
    this.#onFrame = onFrame;
  }

  push(data: Buffer): void {
    let input = data;
    if (this.#payloadToSkip > 0) {
      const skipped = Math.min(this.#payloadToSkip, input.length);
      this.#payloadToSkip -= skipped;
      input = input.subarray(skipped);
    }
    this.#pending = Buffer.concat([this.#pending, input]);
    for (;;) {
      const header = this.#pending;
      if (this.#payloadToSkip > 0 || header.length < 2) return;
      const first = header[0] as number;
      const second = header[1] as number;
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (header.length < 4) return;
        length = header.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (header.length < 10) return;
        length = Number(header.readBigUInt64BE(2));
        offset = 10;
      }
      if (second & 0x80) offset += 4;
      if (header.length < offset) return;
      this.#onFrame({ opcode: first & 0x0f, fin: (first & 0x80) !== 0, length });
      const available = header.length - offset;
      if (available >= length) {
        this.#pending = header.subarray(offset + length);
      } else {
        this.#payloadToSkip = length - available;
        this.#pending = Buffer.alloc(0);
      }
    }
  }
}
