import type { Readable } from 'node:stream';
import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import {
  type ChecksumAlgorithm,
  ErrorCode,
  guessMimeType,
  InvalidMessageError,
  type ResourceStatus,
  SpoolError,
  toSpoolError,
  UploadAbortedError,
} from '@spool/common';
import type { Request, Response } from 'express';
import type { UploadSession } from '../../../core/upload-session.js';
import { pumpRequestBody, pumpStream, type StreamPump } from '../../../transport/http/body-pump.js';
import { refuseContentEncoding } from '../../../transport/http/content-encoding.js';
import { mimeTypeFromContentType } from '../../../transport/http/mime-type.js';
import { peekFirstChunk } from '../../../transport/http/peek-stream.js';
import { acceptBody } from '../../../transport/http/request-body.js';
import { headerValue, parseFlag, queryParam } from '../../../transport/http/request-params.js';
import { type IssuedTokens, openUpload } from '../../shared/http/sessions.js';
import { bodyTimeouts, refuseDeclaredOverBudget, requestBudget, resourceBudget } from '../../shared/http/upload-budget.js';
import { validContextId } from '../../shared/upload-context.js';
import { uploadChecksums } from '../checksum.js';
import { type HttpContext, jsonOf, loadResource, sendJson } from '../context.js';
import { metadataOf, type UploadDescription } from '../upload-metadata.js';

export const MAX_FORM_FILES = 100;
export const MAX_FORM_FIELDS = 100;
const MAX_FIELD_BYTES = 64 * 1024;
/** Parser buffers: memory per form upload stays at a few of these plus the session's queue. */
const PARSER_HIGH_WATER_MARK = 64 * 1024;
const FILE_HIGH_WATER_MARK = 256 * 1024;

/** One file part of the form, in form order; its resource exists once `session` is set. */
interface FormFile {
  session: UploadSession | undefined;
  part: Readable;
  /** The parser pushed the part's end (its data is all in the stream), read or not. */
  ended: boolean;
  /** Its capability tokens, when access control issued them. */
  tokens: IssuedTokens | undefined;
  /** Copying its bytes into the session; undefined before and after. */
  pump: StreamPump | undefined;
  /**
   * Why the part is incomplete although its stream ends normally: busboy ends a part cut
   * short by the end of the input like a whole one, and says so only on the parser.
   */
  cutShort: Error | undefined;
}

/**
 * One `multipart/form-data` request, parsed incrementally by @fastify/busboy: every file
 * part (any number, any size; quoted boundaries and boundaries split across reads are the
 * parser's business) becomes its own resource as it arrives and is COMPLETED at the
 * part's end. Text fields `context` and `lineAccess` apply to the file parts after them,
 * `name` to the next file part only (a name is held by one resource). A part whose type
 * neither its Content-Type nor its file name tells is sniffed from its first bytes.
 * Back-pressure: session 'drain' → part stream → parser → request socket.
 *
 * The request body goes to the parser through the same pump as raw uploads: it counts
 * against httpMaxBodyBytes and has the idle timeout and deadline. When the input stops
 * early (limit, timeout, client gone) the parser still gets every byte that arrived, so
 * files already whole stay COMPLETED and the file in progress is FAILED with all the bytes
 * it got; the error lists every resource created (details.resources).
 */
class MultipartUpload {
  private readonly files: FormFile[] = [];
  private readonly tasks: Promise<void>[] = [];
  private contextId: string | null;
  private lineAccess: boolean | undefined;
  /** The `name` field, for the next file part. */
  private nextName: string | null = null;
  /** The checksums of each file (forms carry none to verify). */
  private readonly checksum: ChecksumAlgorithm[];
  /** Why the request body stopped before its end, if it did. */
  private inputStop: SpoolError | undefined;
  private failure: SpoolError | undefined;
  private input: StreamPump | undefined;
  private rejectRun: (err: SpoolError) => void = () => undefined;

  constructor(
    private readonly ctx: HttpContext,
    private readonly req: Request,
    private readonly res: Response,
  ) {
    this.contextId = validContextId(queryParam(req, 'context') ?? headerValue(req, 'spool-context'));
    this.lineAccess =
      parseFlag(queryParam(req, 'lineAccess'), 'lineAccess') ?? parseFlag(headerValue(req, 'spool-line-access'), 'Spool-Line-Access');
    this.checksum = uploadChecksums(ctx, req);
  }

  /** Resolves with the created resources' statuses (and tokens) in form order; rejects with the failure. */
  run(): Promise<{ status: ResourceStatus; tokens: IssuedTokens | undefined }[]> {
    const { req, res, ctx } = this;
    refuseContentEncoding(req);
    const bodyBudget = requestBudget(ctx.config);
    refuseDeclaredOverBudget(req, bodyBudget);
    let parser: BusboyInstance;
    try {
      parser = Busboy({
        headers: req.headers as BusboyHeaders,
        highWaterMark: PARSER_HIGH_WATER_MARK,
        fileHwm: FILE_HIGH_WATER_MARK,
        limits: { files: MAX_FORM_FILES, fields: MAX_FORM_FIELDS, fieldSize: MAX_FIELD_BYTES },
      });
    } catch (err) {
      // "Multipart: Boundary not found" and the like, before any byte is read.
      throw new InvalidMessageError(`Malformed multipart/form-data request: ${(err as Error).message}`);
    }
    acceptBody(req, res);
    return new Promise((resolve, reject) => {
      this.rejectRun = reject;
      parser.on('field', (name: string, value: string) => this.onField(name, value));
      parser.on('file', (_field: string, part: Readable, filename: string, _encoding: string, mimeType: string) =>
        this.onFile(part, filename, mimeType),
      );
      parser.on('filesLimit', () =>
        this.abort(new SpoolError(ErrorCode.MESSAGE_TOO_LARGE, `More than ${MAX_FORM_FILES} files in one form`)),
      );
      parser.on('fieldsLimit', () =>
        this.abort(new SpoolError(ErrorCode.MESSAGE_TOO_LARGE, `More than ${MAX_FORM_FIELDS} fields in one form`)),
      );
      parser.on('error', (err: unknown) => {
        this.markCutShort(err as Error);
        this.abort(new InvalidMessageError(`Malformed multipart/form-data body: ${(err as Error).message}`));
      });
      parser.on('finish', () => {
        Promise.all(this.tasks).then(
          () => {
            if (this.failure) return;
            if (this.files.length === 0) {
              this.abort(new InvalidMessageError('The form has no file part with a chosen file'));
              return;
            }
            resolve(this.files.flatMap((f) => (f.session ? [{ status: f.session.status, tokens: f.tokens }] : [])));
          },
          (err: unknown) => this.abort(err),
        );
      });
      this.input = pumpRequestBody(req, parser, { ...bodyBudget, ...bodyTimeouts(ctx.config) });
      // Whether the body ended or stopped early, the parser has every byte that came: ending
      // its input completes or fails (premature end) every part it holds, so all tasks settle.
      this.input.done.then(
        () => parser.end(),
        (err: unknown) => {
          if (!this.failure) this.inputStop = toSpoolError(err);
          parser.end();
        },
      );
    });
  }

  private onField(name: string, value: string): void {
    if (this.failure) return;
    try {
      if (name === 'context') this.contextId = validContextId(value);
      else if (name === 'lineAccess') this.lineAccess = parseFlag(value, 'lineAccess');
      else if (name === 'name') this.nextName = value === '' ? null : value;
    } catch (err) {
      this.abort(err);
    }
  }

  private onFile(part: Readable, filename: string, partType: string): void {
    const file: FormFile = { part, ended: false, tokens: undefined, session: undefined, pump: undefined, cutShort: undefined };
    // Readable has no public "end pushed" flag ('end' comes only after the last read): the parser's push(null) says it.
    const push = part.push.bind(part);
    part.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (chunk === null) file.ended = true;
      return push(chunk, encoding);
    };
    part.on('error', (err: Error) => {
      file.cutShort ??= err;
    });
    // A file input left empty is sent as a part with an empty filename: nothing to store.
    if (this.failure || !filename) {
      part.resume();
      return;
    }
    const description: UploadDescription = {
      filename,
      mimeType: mimeTypeFromContentType(partType) ?? guessMimeType(filename),
      supportsLineAccess: this.lineAccess,
      contextId: this.contextId,
      name: this.nextName,
    };
    this.nextName = null;
    this.files.push(file);
    const task = this.receiveFile(file, part, description);
    this.tasks.push(task);
    task.catch((err: unknown) => this.abort(err));
  }

  private async receiveFile(file: FormFile, part: Readable, description: UploadDescription): Promise<void> {
    // The request's idle timeout covers the wait: its watchdog ends the parser, and so the part.
    const head = description.mimeType === undefined ? await peekFirstChunk(part, 0) : undefined;
    const metadata = metadataOf(description, head);
    const { contextId, name } = description;
    const { session, tokens } = await openUpload(this.ctx, metadata, { contextId, name, checksum: this.checksum });
    file.session = session;
    file.tokens = tokens;
    // Even after a failure elsewhere the part is read: a part already whole completes, one
    // cut short by the end of the input fails with every byte it had.
    this.ctx.logger.info('http form upload started', { resourceId: session.id, filename: metadata.filename, name, contextId });
    file.pump = pumpStream(part, session, {
      ...resourceBudget(this.ctx.config, 0),
      interrupted: (bytes, cause) =>
        new UploadAbortedError(`The form ended inside this file, after ${bytes} bytes${cause ? `: ${cause.message}` : ''}`),
    });
    // Created after a malformed body stopped everything: the parser may never end this part.
    if (this.failure && !this.inputStop) file.pump.cancel(this.failure);
    let problem: SpoolError | undefined;
    try {
      await file.pump.done;
    } catch (err) {
      problem = toSpoolError(err);
    } finally {
      file.pump = undefined;
    }
    if (!problem && file.cutShort) problem = new UploadAbortedError(`The form ended inside this file: ${file.cutShort.message}`);
    if (problem) {
      part.resume();
      const reason = this.failure ?? this.inputStop ?? problem;
      await session.fail(reason.message).catch(() => undefined);
      throw reason;
    }
    await session.finish();
  }

  /** On a parser error, every file part whose data had not ended is incomplete. */
  private markCutShort(err: Error): void {
    for (const file of this.files) if (!file.ended) file.cutShort ??= err;
  }

  /**
   * First failure wins: stops the input and, once every file task settled, rejects with
   * each resource's outcome. Parts the parser holds are still delivered; only after a
   * malformed body (the parser may never end them) are the running copies cut at once.
   */
  private abort(err: unknown): void {
    if (this.failure) return;
    // A parser error caused by the input stopping early is reported as why it stopped.
    const failure = this.inputStop ?? toSpoolError(err);
    this.failure = failure;
    this.input?.cancel(failure);
    if (!this.inputStop) for (const file of this.files) file.pump?.cancel(failure);
    void Promise.allSettled(this.tasks).then(() => {
      const resources = this.files.flatMap(({ session }) =>
        session ? [{ id: session.id, state: session.status.state, size: session.status.size }] : [],
      );
      const outcome = resources.length > 0 ? `; resources: ${resources.map((r) => `${r.id} ${r.state} (${r.size} bytes)`).join(', ')}` : '';
      this.rejectRun(new SpoolError(failure.code, `${failure.message}${outcome}`, { ...failure.details, resources }, { cause: failure }));
    });
  }
}

/** `POST /api/v1/resources` with a multipart/form-data body: 201 `{"resources": [...]}` in form order. */
export function uploadMultipart(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const created = await new MultipartUpload(ctx, req, res).run();
    const resources = await Promise.all(
      created.map(async ({ status, tokens }) => ({ ...jsonOf(ctx, { ...(await loadResource(ctx.core, status.id)), status }), ...tokens })),
    );
    res.setHeader('Cache-Control', 'no-store');
    await sendJson(ctx, req, res, 201, { resources });
  };
}
