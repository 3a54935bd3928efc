import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type SpoolConfigInput, type SpoolServer, startServer } from '@spool/server';

const dirs: string[] = [];

/** A fresh data directory under the OS temp dir, removed when the test process ends. */
export function freshDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-e2e-'));
  dirs.push(dir);
  return dir;
}

process.once('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts a server on 127.0.0.1 with a fresh data dir and quiet logs. */
export function startTestServer(
  overrides: Partial<SpoolConfigInput> = {},
  options: Parameters<typeof startServer>[1] = {},
): Promise<SpoolServer> {
  return startServer(
    { host: '127.0.0.1', port: 0, hspPort: 0, dataDir: freshDataDir(), checkpointIntervalMs: 20, logLevel: 'error', ...overrides },
    options,
  );
}
