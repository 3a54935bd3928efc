import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ChecksumAlgorithm, Checksums } from '@spool/common';
import type { Pattern } from './pattern.js';
import { type MemoryUsage, ServerProcess } from './process.js';
import { verify } from './scenario.js';

const serverEntry = createRequire(import.meta.url).resolve('@spool/server');
/** The server CLI as users run it: `node packages/server/dist/cli.js`. */
export const SPOOL_CLI = path.join(path.dirname(serverEntry), 'cli.js');
const unmaskProbe = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'peers', 'spool-unmask-probe.js')).href;

export interface SpoolServerOptions {
  /** Fresh (or seeded) data directory. */
  dataDir: string;
  /** When set, the server runs with `--cpu-prof` and writes its profile here on exit. */
  profileDir?: string | undefined;
  /** Extra SPOOL_* settings. */
  env?: Record<string, string>;
}

/** Which unmasking the Spool server process uses, as reported from inside it. */
export type SpoolUnmask = 'bufferutil (native)' | 'JavaScript' | 'unknown';

/**
 * The Spool server CLI in its own process on 127.0.0.1 (free port, default settings
 * except the data directory), with a preloaded probe reporting its unmasking path.
 */
export class SpoolServerProcess {
  readonly process: ServerProcess;
  /** `http://127.0.0.1:PORT`. */
  readonly httpUrl: string;
  /** `ws://127.0.0.1:PORT`. */
  readonly wsUrl: string;
  readonly unmask: SpoolUnmask;
  /** Bound ports of its TCP protocols (`hsp`), as it logged them. */
  readonly tcpPorts: Readonly<Record<string, number>>;

  private constructor(serverProcess: ServerProcess) {
    this.process = serverProcess;
    this.httpUrl = serverProcess.url;
    this.wsUrl = serverProcess.url.replace(/^http/, 'ws');
    const probe = /"probe":"spool-unmask","nativeUnmaskAvailable":(true|false)/.exec(serverProcess.output)?.[1];
    this.unmask = probe === 'true' ? 'bufferutil (native)' : probe === 'false' ? 'JavaScript' : 'unknown';
    this.tcpPorts = JSON.parse(/"tcp":(\{[^}]*\})/.exec(serverProcess.output)?.[1] ?? '{}') as Record<string, number>;
  }

  static async start(options: SpoolServerOptions): Promise<SpoolServerProcess> {
    const nodeFlags = ['--import', unmaskProbe];
    if (options.profileDir) nodeFlags.push('--cpu-prof', '--cpu-prof-dir', options.profileDir);
    const serverProcess = await ServerProcess.start({
      name: 'Spool server',
      script: SPOOL_CLI,
      nodeFlags,
      env: {
        SPOOL_HOST: '127.0.0.1',
        SPOOL_PORT: '0',
        SPOOL_HSP_PORT: '0',
        SPOOL_DATA_DIR: options.dataDir,
        SPOOL_LOG_LEVEL: 'info',
        ...options.env,
      },
    });
    return new SpoolServerProcess(serverProcess);
  }

  /** Download URI of a resource on this server. */
  downloadUri(resourceId: string): string {
    return `${this.wsUrl}/ws/streaming/download/${resourceId}`;
  }

  /** Path of a resource's bytes in the embedded file store. */
  static blobPath(dataDir: string, resourceId: string): string {
    return path.join(dataDir, 'blobs', resourceId);
  }

  stop(): Promise<MemoryUsage> {
    return this.process.stop();
  }
}

/** A resource as the HTTP API describes it (what the upload scenarios check). */
export interface SpoolResourceJson {
  id: string;
  state: string;
  size: number;
  lines: number | null;
  checksum: string | null;
  checksums: Checksums;
}

/**
 * Checks an upload of the first `sizeBytes` of `pattern` to the Spool server on `dataDir`:
 * COMPLETED with every byte, exactly the `checksums` expected, the line count, and the
 * stored bytes themselves. Returns what it checked.
 */
export async function verifySpoolUpload(
  pattern: Pattern,
  sizeBytes: number,
  dataDir: string,
  resource: SpoolResourceJson,
  checksums: readonly ChecksumAlgorithm[],
): Promise<string[]> {
  verify(resource.state === 'COMPLETED' && resource.size === sizeBytes, `Spool has ${resource.state}, ${resource.size} bytes`);
  const expected = JSON.stringify(pattern.checksums(sizeBytes, checksums));
  verify(JSON.stringify(resource.checksums) === expected, `Spool's checksums ${JSON.stringify(resource.checksums)}, expected ${expected}`);
  const expectedLines = pattern.lines(sizeBytes);
  verify(resource.lines === expectedLines, `Spool counted ${resource.lines} lines, the data has ${expectedLines}`);
  const blob = await pattern.verifyFile(SpoolServerProcess.blobPath(dataDir, resource.id), sizeBytes);
  verify(blob.ok, `Spool stored ${blob.size} bytes, ${blob.ok ? '' : 'not '}the ones sent`);
  return ['size', checksums.length > 0 ? checksums.join('+') : 'no checksum', 'lines', 'stored content'];
}
