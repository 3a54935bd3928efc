import type { Command } from 'commander';
import { CliError, EXIT } from './exit-codes.js';
import { call, resourcePath } from './http.js';
import { writeOut } from './output.js';
import type { SettingsOf } from './program.js';
import { parseRef } from './ref.js';

interface ListedResource {
  id: string;
  name: string | null;
  filename: string;
  state: string;
  size: number;
  lines: number | null;
  createdAt: string;
}

const STATES = ['INITIATED', 'IN_PROGRESS', 'COMPLETED', 'FAILED'];

/** One row of `spool ls`: fixed columns, then the name (or file name), which may hold spaces. */
export const listRow = (r: ListedResource): string =>
  [r.id, r.state.padEnd(11), String(r.size).padStart(12), String(r.lines ?? '-').padStart(9), r.createdAt, r.name ?? r.filename].join('  ');

export function addManageCommands(program: Command, settingsOf: SettingsOf): void {
  program
    .command('ls')
    .description('list resources, newest first')
    .option('--state <state>', `only resources in this state (${STATES.join(', ')})`)
    .option('--context <id>', 'only resources of this upload context')
    .option('--prefix <text>', 'only file names starting with it')
    .option('--name-prefix <text>', 'only names starting with it (ci/1234/)')
    .option('--limit <n>', 'at most this many (1-1000)', '50')
    .option('--json', "print the server's JSON page")
    .action(
      async (
        options: { state?: string; context?: string; prefix?: string; namePrefix?: string; limit: string; json?: boolean },
        command: Command,
      ) => {
        if (options.state && !STATES.includes(options.state.toUpperCase()))
          throw new CliError(`--state must be one of ${STATES.join(', ')}`, EXIT.USAGE);
        const settings = settingsOf(command);
        const response = await call(settings, 'GET', '/api/v1/resources', {
          query: {
            order: 'desc',
            limit: options.limit,
            state: options.state,
            context: options.context,
            prefix: options.prefix,
            namePrefix: options.namePrefix,
          },
        });
        const page = (await response.json()) as { resources: ListedResource[] };
        if (options.json) return writeOut(`${JSON.stringify(page, null, 2)}\n`);
        for (const resource of page.resources) await writeOut(`${listRow(resource)}\n`);
      },
    );

  program
    .command('rm')
    .description("delete resources (an admin token, or the resource's write token)")
    .argument('<refs...>', 'ids, names or URLs')
    .action(async (refs: string[], _options: unknown, command: Command) => {
      const settings = settingsOf(command);
      for (const ref of refs) {
        const target = parseRef(ref, settings);
        await call(target, 'DELETE', resourcePath(target.resource));
      }
    });
}
