/**
 * The server as a user runs it: `node packages/server/dist/cli.js` in its own process,
 * configured by environment, stopped by signals or killed outright.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { type Launch, startCli as startProcess } from './helpers/cli-process.js';
import { freshDataDir } from './helpers/server.js';
import { md5Hex, RawStepSocket, sendJavaStyleData, startRawUpload } from './helpers/step-raw-client.js';

const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('@spool/server')), 'cli.js');
const spoolBin = path.join(path.dirname(createRequire(import.meta.url).resolve('@spool/cli')), 'main.js');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Resolves once nothing listens at `url` any more (the server process is really gone), else rejects after `ms`. */
async function refusedWithin(url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const answered = await fetch(`${url}/health`).then(
      () => true,
      () => false,
    );
    if (!answered) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} still answers: the server outlived its launcher`);
}

interface Running {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  stderr: () => string;
}

/** Starts the CLI on a free port; resolves once it logged where it listens. */
function startCli(env: Record<string, string>, args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, SPOOL_HOST: '127.0.0.1', SPOOL_PORT: '0', SPOOL_HSP_PORT: '0', SPOOL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start: ${stderr}`));
    }, 20_000);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      const match = /"url":"(http:\/\/[^"]+)"/.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: match[1], wsUrl: match[1].replace(/^http/, 'ws'), stderr: () => stderr });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr}`));
    });
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Runs node with `args`; its exit code and stdout. */
async function helpOf(args: string[]): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  return { code: (await exited(child)).code, stdout };
}

async function statusOver(wsUrl: string, id: string) {
  const socket = new RawStepSocket(`${wsUrl}/ws/streaming/download/${id}`);
  const status = await socket.text<{ resourceStatus: { transferStatus: string; currentSize: number; numberOfLines: number | null } }>(1);
  return { socket, status: status.resourceStatus };
}

describe('Server process', () => {
  it('survives kill -9: completed resources stay readable, interrupted uploads are FAILED with their checkpointed data', async () => {
    const dataDir = freshDataDir();
    const env = { SPOOL_DATA_DIR: dataDir, SPOOL_CHECKPOINT_INTERVAL_MS: '20' };
    const first = await startCli(env);
    const done = await startRawUpload(first.wsUrl);
    const checksum = await sendJavaStyleData(done.socket, [Buffer.from('kept\nforever\n')]);
    done.socket.sendJson({ '@': 'FinishUpload', checksum });
    await done.socket.text(2);
    const open = await startRawUpload(first.wsUrl);
    await open.socket.fragment(Buffer.from('a\nb\nc'), false);
    // Wait until a follower saw the checkpoint, so those bytes are recorded.
    const watcher = new RawStepSocket(open.uri);
    await watcher.waitFor((m) => (m as { resourceStatus?: { currentSize: number } }).resourceStatus?.currentSize === 5);
    first.child.kill('SIGKILL');
    await exited(first.child);

    const second = await startCli(env);
    try {
      const completed = await statusOver(second.wsUrl, done.id);
      expect(completed.status).to.deep.equal({ transferStatus: 'COMPLETED', currentSize: 13, numberOfLines: 2 });
      completed.socket.sendJson({ '@': 'RequestChunk', startOffset: 0, endOffset: 13 });
      while (completed.socket.binaries.length < 1) await new Promise((r) => setTimeout(r, 5));
      expect(md5Hex(completed.socket.binaries[0] as Buffer)).to.equal(checksum);
      const failed = await statusOver(second.wsUrl, open.id);
      expect(failed.status).to.deep.equal({ transferStatus: 'FAILED', currentSize: 5, numberOfLines: 3 });
      failed.socket.sendJson({ '@': 'RequestLines', startingLineIndex: 0, linesCount: 3 });
      expect(await failed.socket.text(2)).to.deep.equal({ '@': 'Lines', lines: ['a\n', 'b\n', 'c'] });
      completed.socket.ws.close();
      failed.socket.ws.close();
    } finally {
      second.child.kill('SIGTERM');
      await exited(second.child);
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`shuts down gracefully on ${signal}: clients get 1001 "Server shutdown", exit code 0`, async () => {
      const running = await startCli({ SPOOL_DATA_DIR: freshDataDir() });
      const upload = await startRawUpload(running.wsUrl);
      await upload.socket.fragment(Buffer.from('in flight\n'), false);
      const follower = new RawStepSocket(upload.uri);
      await follower.text(1);
      running.child.kill(signal);
      expect(await upload.socket.closed).to.deep.equal({ code: 1001, reason: 'Server shutdown' });
      expect(await follower.closed).to.deep.equal({ code: 1001, reason: 'Server shutdown' });
      expect(await exited(running.child)).to.deep.equal({ code: 0, signal: null });
      expect(running.stderr()).to.match(/"message":"stopped"/);
    });
  }

  it('refuses a bad configuration value with a clear message and exit code 2', async () => {
    const child = spawn(process.execPath, [cli], { env: { ...process.env, SPOOL_PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    expect(await exited(child)).to.deep.equal({ code: 2, signal: null });
    expect(stderr).to.match(/Invalid configuration: port: /);
  });

  it('prints every setting with --help (also after a `--`, as `pnpm start -- --help` passes it)', async () => {
    const { code, stdout } = await helpOf([cli, '--', '--help']);
    expect(code).to.equal(0);
    expect(stdout).to.match(/--public-url \/ SPOOL_PUBLIC_URL/);
    expect(stdout).to.match(/--checkpoint-interval-ms \/ SPOOL_CHECKPOINT_INTERVAL_MS: .*\[100\]/);
  });

  const launchers: [string, Launch][] = [
    ['pnpm start', { file: 'pnpm', args: ['start'], cwd: root }],
    ['spool serve', { file: process.execPath, args: [spoolBin, 'serve'] }],
  ];
  for (const [name, launch] of launchers) {
    it(`\`${name}\` stops the server on SIGTERM to the process it started (no orphan left listening)`, async function () {
      this.timeout(120_000);
      const running = await startProcess({ SPOOL_PORT: '0', SPOOL_DATA_DIR: freshDataDir() }, 90_000, launch);
      running.child.kill('SIGTERM');
      await exited(running.child);
      await refusedWithin(running.url, 10_000);
      expect(running.stderr()).to.match(/"message":"stopped"/);
    });
  }

  it('`spool serve --help` lists every server setting as a flag of the same name', async () => {
    const { code, stdout } = await helpOf([spoolBin, 'serve', '--help']);
    expect(code).to.equal(0);
    expect(stdout).to.match(/--checkpoint-interval-ms <value>/);
    expect(stdout).to.match(/--public-url <value>/);
    expect(stdout).to.match(/--hsp-port <value>/);
  });
});
