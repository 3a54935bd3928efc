import { EventEmitter } from 'node:events';
import type { ChunkSink } from './body-pump.js';

/** Collects a small body in memory, for `pumpStream`/`pumpRequestBody`, whose `room` bounds it. */
export class BufferSink extends EventEmitter implements ChunkSink {
  private readonly chunks: Buffer[] = [];

  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
