import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeZodError, InvalidMessageError } from '@spool/common';
import { ConfigSchema, type SpoolConfig, type SpoolConfigInput } from './schema.js';

const KEYS = Object.keys(ConfigSchema.shape) as (keyof SpoolConfig)[];

export const envName = (key: string) => `SPOOL_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
export const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export class ConfigError extends InvalidMessageError {}

export interface ConfigSources {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Highest precedence: programmatic settings (tests, embedding). */
  overrides?: Partial<SpoolConfigInput>;
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of KEYS) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

function fromArgv(argv: readonly string[]): { values: Record<string, string>; configFile?: string; help: boolean } {
  const options = Object.fromEntries([
    ...KEYS.map((k) => [flagName(k), { type: 'string' as const }]),
    ['config', { type: 'string' as const, short: 'c' }],
    ['help', { type: 'boolean' as const, short: 'h' }],
  ]);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (see --help)`);
  }
  const values: Record<string, string> = {};
  for (const key of KEYS) {
    const value = parsed.values[flagName(key)];
    if (typeof value === 'string') values[key] = value;
  }
  const configFile = parsed.values.config;
  return { values, help: parsed.values.help === true, ...(typeof configFile === 'string' ? { configFile } : {}) };
}

function fromFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`Config file ${file} is not a JSON object: ${(err as Error).message}`);
  }
}

/**
 * Builds the configuration: defaults < config file (--config or SPOOL_CONFIG, JSON) <
 * SPOOL_* environment < flags < overrides. Throws ConfigError naming every bad value.
 */
export function loadConfig(sources: ConfigSources = {}): SpoolConfig {
  const env = sources.env ?? {};
  const args = fromArgv(sources.argv ?? []);
  const file = args.configFile ?? env.SPOOL_CONFIG;
  const merged = { ...(file ? fromFile(file) : {}), ...fromEnv(env), ...args.values, ...(sources.overrides ?? {}) };
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(`Invalid configuration: ${describeZodError(result.error)}`);
  return result.data;
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/** `--help` text generated from the schema, so it never drifts from it. */
export function configHelp(): string {
  const lines = [
    'Usage: spool-server [--config file.json] [--flag value ...]',
    '',
    'Settings (flag / environment variable: description [default]):',
  ];
  for (const key of KEYS) {
    const field = ConfigSchema.shape[key];
    const fallback = (() => {
      const parsed = field.safeParse(undefined);
      return parsed.success && parsed.data !== undefined ? ` [${String(parsed.data)}]` : '';
    })();
    lines.push(`  --${flagName(key)} / ${envName(key)}: ${field.description ?? ''}${fallback}`);
  }
  lines.push('  --config, -c / SPOOL_CONFIG: JSON file with any of the settings above (camelCase keys)');
  return lines.join('\n');
}
