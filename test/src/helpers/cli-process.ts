/**
 * The server as a user runs it — `node packages/server/dist/cli.js` in a process of its
 * own — for tests that kill it (`kill -9`) and start it again on the same port and data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';

const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@spool/server')), 'cli.js');

export interface CliServer {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  wsUrl: string;
  /** Bound ports of the TCP protocols, by name (`hsp`). */
  tcpPorts: Record<string, number>;
  stderr(): string;
}

/** A TCP port that was free a moment ago (bound on 127.0.0.1, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** How a server process is started: `spool-server` by default; `pnpm start` or `spool serve` in their tests. */
export interface Launch {
  file: string;
  args: readonly string[];
  cwd?: string;
}

/**
 * A server whose RSS a test measures: V8's young generation pinned to 16 MiB (Node 20's
 * size; Node 22 and 24 size it larger), so the figure is Spool's buffers, not the garbage
 * a newer V8 lets pile up between collections.
 */
export const MEASURED_LAUNCH: Launch = { file: process.execPath, args: ['--max-semi-space-size=16', cli] };

/** Starts the CLI with `env` (SPOOL_*); resolves once it logged where it listens. */
export function startCli(
  env: Record<string, string>,
  timeoutMs = 20_000,
  launch: Launch = { file: process.execPath, args: [cli] },
): Promise<CliServer> {
  const child = spawn(launch.file, launch.args, {
    ...(launch.cwd ? { cwd: launch.cwd } : {}),
    // The HSP listener on any free port: parallel servers must not collide on its default one.
    env: { ...process.env, SPOOL_HOST: '127.0.0.1', SPOOL_HSP_PORT: '0', SPOOL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr}`));
    };
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Keep only the tail: a long run must not grow this without bound.
      if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024);
      const match = /"url":"(http:\/\/[^"]+)"/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        child.off('exit', onExit);
        const tcpPorts = JSON.parse(/"tcp":(\{[^}]*\})/.exec(stderr)?.[1] ?? '{}') as Record<string, number>;
        resolve({ child, url: match[1], wsUrl: match[1].replace(/^http/, 'ws'), tcpPorts, stderr: () => stderr });
      }
    });
    child.once('exit', onExit);
  });
}

/** Resolves when the process has exited. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Kills a server still running at the end of a test (`kill -9`) and waits until it is gone. */
export async function killCli(server: CliServer | undefined): Promise<void> {
  if (!server) return;
  server.child.kill('SIGKILL');
  await exited(server.child);
}

/** Reconnecting patient enough for a process restart (~1 s; more on a loaded machine), bounded all the same. */
export const RESTART_RECONNECT = { initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 60, maxElapsedMs: 40_000 };

/** After each test of the suite, kills (SIGKILL) the server process the test left in `running`. */
export function killedAfterEach(): { running: CliServer | undefined } {
  const holder: { running: CliServer | undefined } = { running: undefined };
  afterEach(async () => {
    const { running } = holder;
    holder.running = undefined;
    if (running) {
      running.child.kill('SIGKILL');
      await exited(running.child);
    }
  });
  return holder;
}

/** The resident memory (VmRSS) of process `pid` on Linux, in bytes. */
export function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN) * 1024;
}
