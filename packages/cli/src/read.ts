import type { Command } from 'commander';
import { withResource } from './client.js';
import { CliError, EXIT } from './exit-codes.js';
import { call, resourcePath } from './http.js';
import { copyOut, writeOut } from './output.js';
import type { SettingsOf } from './program.js';
import { parseRef } from './ref.js';

const count =
  (flag: string) =>
  (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) throw new CliError(`${flag} must be a whole number ≥ 0, not "${text}"`, EXIT.USAGE);
    return value;
  };

/** `a-b` (inclusive, as curl's --range), `a-` or `-n` (the last n bytes) → [start, end) within `size`. */
export function parseRange(text: string, size: number): { start: number; end: number } {
  const match = /^(\d*)-(\d*)$/.exec(text);
  if (!match || (match[1] === '' && match[2] === '')) throw new CliError(`--range ${text} is not a-b, a- or -n`, EXIT.USAGE);
  const [, a = '', b = ''] = match;
  if (a === '') return { start: Math.max(0, size - Number(b)), end: size };
  const start = Number(a);
  const end = b === '' ? size : Math.min(size, Number(b) + 1);
  if (start > end || start > size) throw new CliError(`--range ${text} is outside the ${size} bytes there are`, EXIT.USAGE);
  return { start, end };
}

export function addReadCommands(program: Command, settingsOf: SettingsOf): void {
  program
    .command('tail')
    .description('print the last lines of a text resource; with -f, follow it as it grows (exit 3 if it FAILED)')
    .argument('<ref>', 'id, name or URL')
    .option('-n, --lines <n>', 'how many lines', count('--lines'), 10)
    .option('-f, --follow', 'keep printing lines as they arrive, until the resource ends')
    .action(async (ref: string, options: { lines: number; follow?: boolean }, command: Command) => {
      await withResource(parseRef(ref, settingsOf(command)), async (resource) => {
        if (!options.follow) {
          for (const line of await resource.readLines({ tail: options.lines })) await writeOut(`${line}\n`);
          return;
        }
        for await (const line of resource.followLines({ tail: options.lines })) await writeOut(`${line}\n`);
      });
    });

  program
    .command('cat')
    .description('print the bytes of a resource (what is there now; with -f, follow to its end)')
    .argument('<ref>', 'id, name or URL')
    .option('--range <a-b>', 'only bytes a to b (inclusive), a- or -n (the last n)')
    .option('-f, --follow', 'keep printing bytes as they arrive, until the resource ends (exit 3 if it FAILED)')
    .action(async (ref: string, options: { range?: string; follow?: boolean }, command: Command) => {
      await withResource(parseRef(ref, settingsOf(command)), async (resource) => {
        if (options.follow) {
          if (options.range) throw new CliError('--range and --follow go separately', EXIT.USAGE);
          await copyOut(resource.follow());
          return;
        }
        const size = resource.status.size;
        const range = options.range ? parseRange(options.range, size) : { start: 0, end: size };
        if (range.end > range.start) await copyOut(resource.createReadStream(range));
      });
    });

  program
    .command('lines')
    .description('print lines [from, from+count) of a text resource (numbered from 0)')
    .argument('<ref>', 'id, name or URL')
    .requiredOption('--from <i>', 'first line (0 is the first)', count('--from'))
    .option('--count <n>', 'how many lines', count('--count'), 100)
    .action(async (ref: string, options: { from: number; count: number }, command: Command) => {
      await withResource(parseRef(ref, settingsOf(command)), async (resource) => {
        for (const line of await resource.readLines(options.from, options.count)) await writeOut(`${line}\n`);
      });
    });

  program
    .command('status')
    .description("a resource's state, size, lines and checksum (--json: the server's resource JSON)")
    .argument('<ref>', 'id, name or URL')
    .option('--json', 'print the resource JSON')
    .action(async (ref: string, options: { json?: boolean }, command: Command) => {
      const target = parseRef(ref, settingsOf(command));
      const body = (await (await call(target, 'GET', resourcePath(target.resource))).json()) as Record<string, unknown>;
      if (options.json) return writeOut(`${JSON.stringify(body, null, 2)}\n`);
      const fields = ['id', 'name', 'filename', 'mimeType', 'state', 'size', 'lines', 'checksum', 'error', 'createdAt', 'completedAt'];
      for (const field of fields)
        if (body[field] !== null && body[field] !== undefined) await writeOut(`${field}: ${String(body[field])}\n`);
    });
}
