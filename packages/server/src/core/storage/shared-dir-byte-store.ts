import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { StorageFailureError, WriterFencedError } from '@spool/common';
import type { ByteStore, ByteWriter, WriterOptions } from './byte-store.js';
import { FileByteWriter, safeFileName } from './file-byte-store.js';
import { DEFAULT_DATA_DIR_MODE, DEFAULT_DATA_FILE_MODE } from './file-modes.js';
import { FileRangeStream } from './file-range-stream.js';
import { joinChunks } from './join-chunks.js';

/** Read size of range streams, as in the file store. */
const RANGE_READ_BYTES = 1024 * 1024;
/** Digits of a segment name's offset and token: names sort as numbers. */
const DIGITS = 16;
const SEGMENT_NAME = /^(\d{16})\.(\d{16})$/;

/** One file of a resource: its bytes from `start` on, written by the writer whose lease had `token`. */
interface Segment {
  readonly file: string;
  readonly start: number;
  readonly token: number;
  /** Bytes of the file. */
  readonly length: number;
}

/** The part of a segment readers see: `[start, end)` of the resource. */
interface Piece {
  readonly segment: Segment;
  readonly start: number;
  readonly end: number;
}

const segmentName = (start: number, token: number) => `${String(start).padStart(DIGITS, '0')}.${String(token).padStart(DIGITS, '0')}`;

/**
 * What readers see of a resource's segments: the writer with a newer lease (a higher
 * token; at one token, the later start) wins from its start on, so a segment ends where
 * any newer one starts. Bytes a stale writer appends to its own segment after its lease
 * moved lie past that point: no reader ever sees them. Pieces in offset order.
 */
export function visiblePieces(segments: readonly Segment[]): Piece[] {
  const newer = (a: Segment, b: Segment) => b.token > a.token || (b.token === a.token && b.start > a.start);
  const pieces: Piece[] = [];
  for (const segment of segments) {
    let end = segment.start + segment.length;
    for (const other of segments) if (newer(segment, other)) end = Math.min(end, other.start);
    if (end > segment.start) pieces.push({ segment, start: segment.start, end });
  }
  return pieces.sort((a, b) => a.start - b.start);
}

export interface SharedDirByteStoreOptions {
  fileMode?: number;
  dirMode?: number;
}

/**
 * Resource bytes in a directory every node mounts (NFS, EFS, CephFS): a folder per
 * resource under `<dir>/blobs/`, holding one file (segment) per writer lease. A writer
 * resumed on the same lease appends to its segment; one that took the resource over (a
 * newer fencing token) starts a new segment at the visible size, which ends every older
 * segment there for readers (`visiblePieces`): a stale writer on a paused node can go on
 * writing its own file, and nobody reads it.
 *
 * Reads open the segment file for each read (no cached handles): on NFS an open is what
 * revalidates a file another node appended to (close-to-open consistency); the server
 * syncs every checkpoint with this store for the same reason.
 */
export class SharedDirByteStore implements ByteStore {
  private readonly dir: string;
  private readonly fileMode: number;
  private readonly dirMode: number;

  constructor(sharedDir: string, options: SharedDirByteStoreOptions = {}) {
    this.dir = path.join(sharedDir, 'blobs');
    this.fileMode = options.fileMode ?? DEFAULT_DATA_FILE_MODE;
    this.dirMode = options.dirMode ?? DEFAULT_DATA_DIR_MODE;
  }

  private folderOf(id: string): string {
    return path.join(this.dir, safeFileName(id));
  }

  /** The resource's segments (none if it has no folder). */
  private async segments(id: string): Promise<Segment[]> {
    const folder = this.folderOf(id);
    let names: string[];
    try {
      names = await fs.readdir(folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new StorageFailureError(`Cannot list resource ${id}: ${(err as Error).message}`, err);
    }
    const segments: Segment[] = [];
    for (const name of names) {
      const match = SEGMENT_NAME.exec(name);
      if (!match) continue;
      const file = path.join(folder, name);
      const length = await fs.stat(file).then(
        (s) => s.size,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return -1; // deleted meanwhile
          throw new StorageFailureError(`Cannot stat ${file}: ${err.message}`, err);
        },
      );
      if (length >= 0) segments.push({ file, start: Number(match[1]), token: Number(match[2]), length });
    }
    return segments;
  }

  private async pieces(id: string): Promise<Piece[]> {
    return visiblePieces(await this.segments(id));
  }

  async openWriter(id: string, options: WriterOptions = {}): Promise<ByteWriter> {
    const folder = this.folderOf(id);
    const token = options.fence ?? 0;
    try {
      await fs.mkdir(this.dir, { recursive: true, mode: this.dirMode });
      await fs.mkdir(folder, { recursive: true, mode: this.dirMode });
      const segments = await this.segments(id);
      if (segments.some((s) => s.token > token)) throw new WriterFencedError(id);
      const pieces = visiblePieces(segments);
      const at = options.at ?? pieces[pieces.length - 1]?.end ?? 0;
      // The same lease (a writer resumed without a takeover) goes on in its own segment.
      const own = segments.filter((s) => s.token === token && s.start <= at).sort((a, b) => b.start - a.start)[0];
      // Segments of this lease past `at` (a cut made after they began) would end ours early: they go.
      for (const later of segments) if (later.token === token && later.start > at) await fs.rm(later.file, { force: true });
      const start = own?.start ?? at;
      const handle = await fs.open(path.join(folder, segmentName(start, token)), 'a+', this.fileMode);
      try {
        await handle.chmod(this.fileMode);
        // Whatever lies past `at` in this segment was never visible.
        if ((await handle.stat()).size > at - start) await handle.truncate(at - start);
      } catch (err) {
        await handle.close();
        throw err;
      }
      return new FileByteWriter(handle, at, start);
    } catch (err) {
      if (err instanceof WriterFencedError) throw err;
      throw new StorageFailureError(`Cannot open resource ${id} for writing: ${(err as Error).message}`, err);
    }
  }

  async size(id: string): Promise<number> {
    const pieces = await this.pieces(id);
    return pieces[pieces.length - 1]?.end ?? 0;
  }

  createReadStream(id: string, start: number, end: number): Readable {
    if (end <= start) return Readable.from([]);
    return Readable.from(this.readPieces(id, start, end), { objectMode: false });
  }

  private async *readPieces(id: string, start: number, end: number): AsyncGenerator<Buffer> {
    let position = start;
    for (const piece of await this.pieces(id)) {
      if (piece.end <= position || position >= end) continue;
      if (piece.start > position) break;
      const until = Math.min(end, piece.end);
      const file = piece.segment.file;
      const stream = new FileRangeStream(
        async () => {
          const handle = await fs.open(file, 'r');
          return { handle, release: () => void handle.close().catch(() => undefined) };
        },
        { start: position - piece.start, end: until - piece.start, chunkBytes: RANGE_READ_BYTES, describe: `resource ${id}` },
      );
      for await (const chunk of stream) yield chunk as Buffer;
      position = until;
    }
    if (position < end) throw new StorageFailureError(`Resource ${id} holds fewer bytes than ${end}`);
  }

  read(id: string, start: number, end: number): Promise<Buffer> {
    return joinChunks(this.readPieces(id, start, end));
  }

  async truncate(id: string, size: number): Promise<void> {
    for (const piece of await this.pieces(id)) {
      if (piece.end <= size) continue;
      // A piece wholly past the cut keeps an empty file: it still ends older segments where it starts.
      await fs.truncate(piece.segment.file, Math.max(0, size - piece.start)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw new StorageFailureError(`Cannot truncate ${id}: ${err.message}`, err);
      });
    }
  }

  async delete(id: string): Promise<void> {
    await fs.rm(this.folderOf(id), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    // Nothing is held open between reads.
  }
}
