import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { Busboy, type BusboyHeaders } from '@fastify/busboy';
import { InvalidMessageError } from '@spool/common';
import type { PipeSource } from './fan-out.js';

/** Parser buffers of a form sent through a pipe: a few of these per transfer. */
const FORM_HIGH_WATER_MARK = 64 * 1024;

/** Settles true once `req` was read to its end, false once it is known not to be (client gone, error). */
function requestComplete(req: IncomingMessage): Promise<boolean> {
  return new Promise((resolve) => {
    if (req.complete) resolve(true);
    else if (req.destroyed) resolve(false);
    req.once('end', () => resolve(true));
    req.once('error', () => resolve(false));
    req.once('close', () => resolve(req.complete));
  });
}

/** The request body as it comes. */
export function bodySource(req: IncomingMessage): PipeSource {
  return { stream: req, complete: requestComplete(req) };
}

export function isMultipart(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().includes('multipart/form-data');
}

/** The first file part of a form (what a browser's form sends), with what it says of itself. */
export interface FormFileSource extends PipeSource {
  readonly filename: string;
  readonly mimeType: string;
}

/**
 * The first file part of a `multipart/form-data` body, parsed as it arrives by
 * @fastify/busboy (back-pressure: part → parser → socket); other parts are read and
 * dropped. Busboy ends a part cut short by the end of the input like a whole one, so the
 * part counts as whole only once the whole form has been parsed. Rejects
 * (INVALID_MESSAGE) a form without a boundary or without any file part.
 */
export function firstFormFile(req: IncomingMessage): Promise<FormFileSource> {
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({ headers: req.headers as BusboyHeaders, highWaterMark: FORM_HIGH_WATER_MARK, fileHwm: FORM_HIGH_WATER_MARK });
  } catch (err) {
    return Promise.reject(new InvalidMessageError(`Malformed multipart/form-data request: ${(err as Error).message}`));
  }
  const complete = new Promise<boolean>((resolve) => {
    parser.once('finish', () => resolve(true));
    parser.once('error', () => resolve(false));
    req.once('error', () => resolve(false));
    req.once('close', () => {
      if (!req.complete) resolve(false);
    });
  });
  return new Promise<FormFileSource>((resolve, reject) => {
    let first: Readable | undefined;
    parser.on('file', (_field: string, part: Readable, filename: string, _encoding: string, mimeType: string) => {
      part.on('error', () => undefined);
      if (first) {
        part.resume();
        return;
      }
      first = part;
      part.pause();
      resolve({ stream: part, complete, filename, mimeType });
    });
    parser.on('error', (err: Error) => {
      if (!first) reject(new InvalidMessageError(`Malformed multipart/form-data body: ${err.message}`));
    });
    parser.once('finish', () => {
      if (!first) reject(new InvalidMessageError('The form has no file part'));
    });
    void complete.then((whole) => {
      if (!whole && !first) reject(new InvalidMessageError('The form ended before its first file part'));
    });
    req.pipe(parser);
  });
}
