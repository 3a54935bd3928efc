import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Crc32, ErrorCode, SpoolError, StorageFailureError, toSpoolError } from '@spool/common';
import type { Request, Response } from 'express';
import type { UploadSession } from '../../core/upload-session.js';
import { type ChunkSink, pumpRequestBody, pumpStream } from '../../transport/http/body-pump.js';
import { acceptBody } from '../../transport/http/request-body.js';
import type { HttpContext } from '../shared/http/http-context.js';
import { bodyTimeouts, type UploadBudget } from '../shared/http/upload-budget.js';
import type { UploadChecksum } from './headers.js';

/**
 * The directory where bodies with `Upload-Checksum` wait for their verification, emptied
 * when the protocol starts (what a crash left there was never verified, never visible).
 */
export function prepareStagingDir(dataDir: string): string {
  const dir = path.join(dataDir, 'tus-staging');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Writes a body to a file while hashing it. */
class DigestingFileSink extends EventEmitter implements ChunkSink {
  private readonly hash;
  readonly file: WriteStream;

  constructor(file: string, algorithm: string) {
    super();
    // CRC-32 is not among node:crypto's hashes; the same update/digest shape.
    this.hash = algorithm === 'crc32' ? crc32Digest() : createHash(algorithm);
    this.file = createWriteStream(file, { flags: 'wx', mode: 0o600 });
    this.file.on('drain', () => this.emit('drain'));
    this.file.on('error', (err) => this.emit('error', err));
  }

  write(chunk: Buffer): boolean {
    this.hash.update(chunk);
    return this.file.write(chunk);
  }

  /** Flushes the file; the digest of everything written. */
  async end(): Promise<Buffer> {
    await new Promise<void>((resolve, reject) => {
      this.file.once('error', reject);
      this.file.end(() => resolve());
    });
    return this.hash.digest();
  }
}

/** A request body received whole and verified, waiting in the staging directory. */
export interface StagedBody {
  readonly file: string;
  readonly bytes: number;
  remove(): Promise<void>;
}

/**
 * Receives a body whose `Upload-Checksum` covers it: into a staging file (memory stays
 * bounded whatever its size), hashed as it arrives. Only a body received whole and
 * matching is returned, to be appended to the upload; on a mismatch (CHECKSUM_MISMATCH,
 * 460) or an interruption none of it is kept — the upload's offset, and what readers
 * see, never include bytes that were not verified.
 */
export async function receiveVerified(
  ctx: HttpContext,
  stagingDir: string,
  req: Request,
  res: Response,
  expected: UploadChecksum,
  budget: UploadBudget,
): Promise<StagedBody> {
  const file = path.join(stagingDir, randomUUID());
  const remove = () => rm(file, { force: true });
  const sink = new DigestingFileSink(file, expected.algorithm);
  try {
    acceptBody(req, res);
    const bytes = await pumpRequestBody(req, sink, { ...budget, ...bodyTimeouts(ctx.config) }).done;
    const actual = await sink.end();
    if (!actual.equals(expected.digest)) {
      throw new SpoolError(
        ErrorCode.CHECKSUM_MISMATCH,
        `Upload-Checksum ${expected.algorithm} ${expected.digest.toString('base64')} does not match the body's ${actual.toString('base64')}: none of its ${bytes} bytes were kept`,
        { algorithm: expected.algorithm, expected: expected.digest.toString('base64'), actual: actual.toString('base64') },
      );
    }
    return { file, bytes, remove };
  } catch (err) {
    sink.file.destroy();
    await remove();
    const error = toSpoolError(err);
    if (error.code === ErrorCode.CHECKSUM_MISMATCH) throw error;
    throw new SpoolError(
      error.code,
      `${error.message}; a body with Upload-Checksum is kept only whole and verified: none of it was kept`,
      error.details,
      { cause: err },
    );
  }
}

/**
 * Copies `source` into the upload with back-pressure (a verified body, a partial upload
 * being concatenated); a copy that fails leaves the upload to its owner.
 */
export function copyInto(source: Readable, session: UploadSession, what: string): Promise<number> {
  return pumpStream(source, session, {
    room: Number.POSITIVE_INFINITY,
    tooLarge: () => new StorageFailureError(`${what} is larger than it said`),
    interrupted: (bytes, cause) => new StorageFailureError(`Reading ${what} stopped after ${bytes} bytes`, cause),
  }).done;
}

/** Appends a verified body to the upload. */
export function appendStaged(staged: StagedBody, session: UploadSession): Promise<number> {
  return copyInto(createReadStream(staged.file), session, 'a verified body');
}

/** CRC-32 with a Hash's update/digest (4 bytes, big-endian, as `Upload-Checksum: crc32` carries it). */
function crc32Digest(): { update(data: Buffer): void; digest(): Buffer } {
  const crc = new Crc32();
  return {
    update: (data) => {
      crc.update(data);
    },
    digest: () => Buffer.from(crc.hex(), 'hex'),
  };
}
