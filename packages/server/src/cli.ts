#!/usr/bin/env node
import { ConfigError, configHelp, wantsHelp } from './config/load.js';
import { retainFreedMemory } from './malloc-tuning.js';
import { startServer } from './server.js';

// `pnpm start -- --port 9000` passes the `--` through: it separates nothing here.
const argv = process.argv.slice(2).filter((arg, index) => !(index === 0 && arg === '--'));
if (wantsHelp(argv)) {
  process.stdout.write(`${configHelp()}\n`);
  process.exit(0);
}
retainFreedMemory();
try {
  const server = await startServer({}, { argv, env: process.env });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.info('signal received', { signal });
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        server.logger.error('shutdown failed', { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`spool-server: ${err.message}\n`);
    process.exit(2);
  }
  // An engine that cannot be reached (PostgreSQL, Redis) or a port in use: one line, no stack.
  process.stderr.write(`spool-server: cannot start: ${(err as Error).message}\n`);
  process.exit(1);
}
