import path from 'node:path';
import type { Pattern } from './pattern.js';
import { rawStepUpload } from './raw-step-upload.js';
import { IntegrityError } from './scenario.js';
import { SpoolServerProcess } from './spool-server.js';

export interface CompletedResource {
  /** Spool data directory holding it (start servers on it to read it). */
  dataDir: string;
  resourceId: string;
}

/**
 * Data the download scenarios share, made once per benchmark run: the source file the
 * plain peers serve, and the same bytes uploaded to Spool as a COMPLETED text/plain
 * resource with line access (by a wire-level Step client, so the download figures do not
 * depend on the upload SDK).
 */
export class Fixtures {
  readonly #pattern: Pattern;
  readonly #sizeBytes: number;
  readonly #tempDir: string;
  readonly #log: (message: string) => void;
  #sourceFile: Promise<string> | undefined;
  #completedResource: Promise<CompletedResource> | undefined;

  constructor(pattern: Pattern, sizeBytes: number, tempDir: string, log: (message: string) => void) {
    this.#pattern = pattern;
    this.#sizeBytes = sizeBytes;
    this.#tempDir = tempDir;
    this.#log = log;
  }

  /** A file holding the first `sizeBytes` of the pattern. */
  sourceFile(): Promise<string> {
    this.#sourceFile ??= (async () => {
      const file = path.join(this.#tempDir, 'source.bin');
      this.#log(`writing ${this.#sizeBytes} bytes to ${file}`);
      await this.#pattern.writeFile(file, this.#sizeBytes);
      return file;
    })();
    return this.#sourceFile;
  }

  /** The same bytes as a COMPLETED Spool resource (checked: size, MD5, lines). */
  completedResource(): Promise<CompletedResource> {
    this.#completedResource ??= (async () => {
      const dataDir = path.join(this.#tempDir, 'spool-completed');
      this.#log(`uploading ${this.#sizeBytes} bytes to a Spool server on ${dataDir}`);
      const server = await SpoolServerProcess.start({ dataDir });
      try {
        const ack = await rawStepUpload(server.wsUrl, this.#pattern, this.#sizeBytes, 1024 * 1024);
        const expectedLines = this.#pattern.lines(this.#sizeBytes);
        if (ack.size !== this.#sizeBytes || ack.checksum !== this.#pattern.md5(this.#sizeBytes) || ack.lines !== expectedLines) {
          throw new IntegrityError(`seeding Spool: acknowledged ${ack.size} bytes, MD5 ${ack.checksum}, ${ack.lines} lines`);
        }
        return { dataDir, resourceId: ack.resourceId };
      } finally {
        await server.stop();
      }
    })();
    return this.#completedResource;
  }
}
