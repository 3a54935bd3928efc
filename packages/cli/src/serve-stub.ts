import type { Command } from 'commander';

export const SERVE_DESCRIPTION = 'run a Spool server (every setting as a flag, same names as the config; also SPOOL_* and --config)';

/**
 * `spool serve`, parsed by the command serve.ts builds from the server's schema. Loaded only
 * when it runs: the server package (SQLite, PostgreSQL, Redis drivers) would otherwise
 * slow every client command's start.
 */
export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description(SERVE_DESCRIPTION)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_options: unknown, command: Command) => {
      const { serveCommand } = await import('./serve.js');
      await serveCommand().parseAsync(command.args, { from: 'user' });
    });
}
