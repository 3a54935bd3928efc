import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError, EXIT } from './exit-codes.js';

/** Where a client command talks to, and with which credential. */
export interface ClientSettings {
  /** The server's base URL (`http(s)://host:port[/prefix]`), without a trailing slash. */
  server: string;
  token: string | undefined;
}

export interface ClientFlags {
  server?: string;
  token?: string;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** `$SPOOL_CLI_CONFIG`, else `~/.config/spool/cli.json`: `{ "server": "...", "token": "..." }`. */
export function cliConfigPath(env: NodeJS.ProcessEnv): string {
  return env.SPOOL_CLI_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'spool', 'cli.json');
}

function readConfigFile(path: string, explicit: boolean): { server?: string; token?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // The default file is optional; one named by SPOOL_CLI_CONFIG must exist.
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read config file ${path}: ${(err as Error).message}`, EXIT.USAGE);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`config file ${path} is not JSON: ${(err as Error).message}`, EXIT.USAGE);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CliError(`config file ${path} is not a JSON object`, EXIT.USAGE);
  const { server, token } = value as Record<string, unknown>;
  for (const [key, v] of Object.entries({ server, token })) {
    if (v !== undefined && typeof v !== 'string') throw new CliError(`config file ${path}: "${key}" must be a string`, EXIT.USAGE);
  }
  return { server: server as string | undefined, token: token as string | undefined };
}

/** Flags win over `SPOOL_SERVER`/`SPOOL_TOKEN`, which win over the config file. */
export function resolveSettings(flags: ClientFlags, env: NodeJS.ProcessEnv): ClientSettings {
  const file = readConfigFile(cliConfigPath(env), env.SPOOL_CLI_CONFIG !== undefined);
  const server = flags.server ?? (env.SPOOL_SERVER || undefined) ?? file.server ?? DEFAULT_SERVER;
  const token = flags.token ?? (env.SPOOL_TOKEN || undefined) ?? file.token;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CliError(`--server ${server} is not a URL (http://host:port)`, EXIT.USAGE);
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') url.protocol = url.protocol === 'ws:' ? 'http:' : 'https:';
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(`--server ${server} must be http(s):// or ws(s)://`, EXIT.USAGE);
  return { server: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, token };
}
