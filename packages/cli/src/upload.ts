import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createUploadClient, growingFile, type SpoolUpload, type UploadSource } from '@spool/impl-websocket';
import type { Command } from 'commander';
import { CliError, EXIT } from './exit-codes.js';
import { authHeaders } from './http.js';
import { writeErr, writeOut } from './output.js';
import type { SettingsOf } from './program.js';
import { progressView } from './progress.js';
import { browserUrl } from './ref.js';

interface UploadOptions {
  name?: string;
  filename?: string;
  mimeType?: string;
  context?: string;
  follow?: boolean;
  idle: number;
  pid?: number;
  progress: boolean;
}

const positive =
  (flag: string) =>
  (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new CliError(`${flag} must be a number > 0, not "${text}"`, EXIT.USAGE);
    return value;
  };

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Resolves once a followed file has stopped growing for `idleMs`, or the producer
 * process `pid` has exited (then its last bytes are drained by `complete()`).
 */
async function untilDone(path: string, idleMs: number, pid: number | undefined, signal: AbortSignal): Promise<void> {
  let size = -1;
  let since = Date.now();
  const tickMs = Math.min(250, idleMs);
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, tickMs));
    if (pid !== undefined) {
      if (!alive(pid)) return;
      continue;
    }
    const now = await stat(path).then(
      (s) => s.size,
      () => -1,
    );
    if (now !== size) {
      size = now;
      since = Date.now();
    } else if (Date.now() - since >= idleMs) return;
  }
}

export function addUploadCommand(program: Command, settingsOf: SettingsOf): void {
  program
    .command('upload')
    .description('upload a file (or stdin with -): prints its URL and web page link at once, then a progress bar')
    .argument('<file>', 'a file, or - for standard input (uploaded as it comes: a pipe from a running build)')
    .option('--name <name>', 'a path-like name readers may open it by (ci/1234/build.log)')
    .option('--filename <filename>', 'file name shown to readers (default: the file\'s; "stdin" for -)')
    .option('--mime-type <type>', 'type/subtype (default: from the file name, else from the first bytes)')
    .option('--context <id>', 'upload context id (groups resources, e.g. one CI build)')
    .option('--follow', 'the file is still being written: keep uploading until it stops growing (--idle) or --pid exits')
    .option('--idle <seconds>', 'with --follow: how long the file must not grow to be complete', positive('--idle'), 10)
    .option('--pid <pid>', 'with --follow: complete when this process (the producer) exits', positive('--pid'))
    .option('--no-progress', 'no progress bar or lines')
    .action(async (file: string, options: UploadOptions, command: Command) => {
      const settings = settingsOf(command);
      const fromStdin = file === '-';
      if (options.follow && fromStdin)
        throw new CliError('--follow is for a file being written; a pipe (-) is followed until it ends anyway', EXIT.USAGE);
      if (!fromStdin) {
        const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
          if (options.follow && err.code === 'ENOENT') return undefined; // a log about to be created
          throw new CliError(`cannot read ${file}: ${err.message}`, EXIT.ERROR);
        });
        if (info?.isDirectory()) throw new CliError(`${file} is a directory`, EXIT.USAGE);
      }
      const client = createUploadClient(settings.server, {
        headers: authHeaders(settings.token),
        ...(options.context ? { contextId: options.context } : {}),
      });
      const growing = options.follow ? growingFile(file) : undefined;
      const source: UploadSource = fromStdin ? process.stdin : (growing ?? file);
      const view = options.progress ? progressView(process.stderr, 'upload') : undefined;
      const interrupt = new AbortController();
      let upload: SpoolUpload | undefined;
      const onSignal = () => {
        interrupt.abort();
        void upload?.cancel('interrupted (spool upload)');
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        upload = await client.upload(source, {
          filename: options.filename ?? (fromStdin ? 'stdin' : basename(file)),
          ...(options.name ? { name: options.name } : {}),
          ...(options.mimeType ? { mimeType: options.mimeType } : {}),
          onProgress: ({ bytesSent, bytesTotal }) => view?.update(bytesSent, bytesTotal),
        });
        const reference = upload.reference;
        await writeOut(`${reference.httpUri}\n${browserUrl(settings.server, reference.id, reference.readToken)}\n`);
        if (growing) await untilDone(file, options.idle * 1000, options.pid, interrupt.signal);
        const result = await upload.complete();
        view?.stop(true);
        writeErr(
          `completed ${result.reference.id}: ${result.size} bytes${result.lines === null ? '' : `, ${result.lines} lines`}${checksumText(result)}\n`,
        );
      } catch (err) {
        view?.stop(false);
        throw err;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/** ", crc32 …, md5 …": every checksum the server recorded (Spool's protocol), else the MD5 (Step). */
function checksumText(result: { checksum: string; checksums?: Partial<Record<string, string>> }): string {
  const checksums = result.checksums ?? (result.checksum ? { md5: result.checksum } : {});
  return Object.entries(checksums)
    .filter(([, hex]) => hex)
    .map(([algorithm, hex]) => `, ${algorithm} ${hex}`)
    .join('');
}
