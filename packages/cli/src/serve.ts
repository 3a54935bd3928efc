import { ConfigSchema, configFlagName, serveUntilSignal } from '@spool/server';
import { Command, Option } from 'commander';
import { SERVE_DESCRIPTION } from './serve-stub.js';

const KEYS = Object.keys(ConfigSchema.shape) as (keyof typeof ConfigSchema.shape)[];

/** The command line `spool-server` would get for these parsed flags (so both read them the same way). */
export function serverArgv(options: Record<string, unknown>): string[] {
  const argv: string[] = [];
  for (const key of [...KEYS, 'config']) {
    const value = options[key];
    if (typeof value === 'string') argv.push(`--${key === 'config' ? 'config' : configFlagName(key)}`, value);
  }
  return argv;
}

/** `spool serve`: every setting of the server as a flag, generated from its schema. */
export function serveCommand(): Command {
  const serve = new Command('spool serve')
    .description(SERVE_DESCRIPTION)
    .option('-c, --config <file>', 'JSON file with any of the settings (camelCase keys)')
    .exitOverride();
  for (const key of KEYS) {
    const field = ConfigSchema.shape[key];
    const fallback = field.safeParse(undefined);
    const shown = fallback.success && fallback.data !== undefined ? ` [${String(fallback.data)}]` : '';
    serve.addOption(new Option(`--${configFlagName(key)} <value>`, `${field.description ?? ''}${shown}`));
  }
  serve.action(async (options: Record<string, unknown>) => {
    // Runs until SIGTERM/SIGINT: serveUntilSignal then exits the process after the shutdown.
    await serveUntilSignal('spool serve', serverArgv(options), process.env);
  });
  return serve;
}
