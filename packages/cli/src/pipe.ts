import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { CliError, EXIT } from './exit-codes.js';
import { authHeaders, refusal } from './http.js';
import { copyOut } from './output.js';
import type { SettingsOf } from './program.js';

/** `<server><base><path>`: the pipe both ends meet at (piping-server style: one PUT, one GET). */
export function pipeUrl(server: string, base: string, path: string): URL {
  const cleanBase = `/${base.replace(/^\/+|\/+$/g, '')}/`;
  const cleanPath = path.replace(/^\/+/, '');
  if (cleanPath === '') throw new CliError('the pipe path is empty: give one both ends agree on, e.g. my/secret-path', EXIT.USAGE);
  return new URL(`${server}${cleanBase}${cleanPath.split('/').map(encodeURIComponent).join('/')}`);
}

export function addPipeCommands(program: Command, settingsOf: SettingsOf): void {
  program
    .command('send')
    .description('send a file or stdin through a pipe: it flows to the one `spool receive` of the same path (nothing is stored)')
    .argument('<path>', 'the pipe path both ends agree on')
    .argument('[file]', 'a file, or - for standard input', '-')
    .option('--pipe-base <path>', "the server's pipe base path (pipeBasePath)", '/pipe/')
    .action(async (path: string, file: string, options: { pipeBase: string }, command: Command) => {
      const settings = settingsOf(command);
      const url = pipeUrl(settings.server, options.pipeBase, path);
      const source = file === '-' ? process.stdin : createReadStream(file);
      const response = await fetch(url, {
        method: 'PUT',
        headers: { ...authHeaders(settings.token), 'content-type': 'application/octet-stream' },
        body: Readable.toWeb(source) as ReadableStream<Uint8Array>,
        duplex: 'half',
      } as RequestInit);
      if (!response.ok) throw await refusal(response, `PUT ${url.pathname}`);
      // The answer comes at once and tells the transfer's progress until it ends: read it to
      // the end (cancelling it would abort the request, and with it the body still sending).
      const report = await response.text();
      const error = report.split('\n').find((line) => line.startsWith('[ERROR]'));
      if (error) throw new CliError(`PUT ${url.pathname}: ${error.replace(/^\[ERROR\]\s*/, '')}`, EXIT.CONNECTION);
    });

  program
    .command('receive')
    .description('receive what `spool send` sends on the same path (waits for the sender)')
    .argument('<path>', 'the pipe path both ends agree on')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--pipe-base <path>', "the server's pipe base path (pipeBasePath)", '/pipe/')
    .action(async (path: string, options: { output?: string; pipeBase: string }, command: Command) => {
      const settings = settingsOf(command);
      const url = pipeUrl(settings.server, options.pipeBase, path);
      const response = await fetch(url, { headers: authHeaders(settings.token) });
      if (!response.ok) throw await refusal(response, `GET ${url.pathname}`);
      if (!response.body) return;
      const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
      if (options.output) await pipeline(body, createWriteStream(options.output));
      else await copyOut(body);
    });
}
