import { ConfigError } from './config/load.js';
import { retainFreedMemory } from './malloc-tuning.js';
import { type SpoolServer, startServer } from './server.js';

/**
 * Runs a server from command-line flags and the environment until SIGTERM or SIGINT,
 * then shuts it down gracefully and exits the process (0, or 1 if shutdown failed). A bad
 * configuration exits 2 and a server that cannot start 1, each with one line on stderr
 * prefixed by `program` (`spool-server`, `spool serve`).
 */
export async function serveUntilSignal(program: string, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<SpoolServer | undefined> {
  // Listen for signals before starting: one that comes while the server starts (it logs
  // where it listens before startServer resolves) stops it as soon as it is up.
  // A server process (not an embedding program) keeps freed heap instead of refaulting it.
  retainFreedMemory();
  let server: SpoolServer | undefined;
  let signalled: string | undefined;
  const stop = (signal: string) => {
    if (signalled !== undefined && server === undefined) return;
    const first = signalled === undefined;
    signalled = signal;
    if (!server || !first) return;
    const running = server;
    running.logger.info('signal received', { signal });
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        running.logger.error('shutdown failed', { error: (err as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    server = await startServer({}, { argv, env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${program}: ${err.message}\n`);
      process.exit(2);
    }
    // An engine that cannot be reached (PostgreSQL, Redis) or a port in use: one line, no stack.
    process.stderr.write(`${program}: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (signalled !== undefined) {
    const signal = signalled;
    signalled = undefined;
    stop(signal);
  }
  return server;
}
