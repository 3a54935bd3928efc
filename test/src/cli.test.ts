/**
 * The `spool` command as a user runs it: its own process against a real server, output
 * and exit codes checked (docs/cli.md).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { EXIT } from '@spool/cli';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { CuttingProxy } from './helpers/cutting-proxy.js';
import { startTestServer } from './helpers/server.js';

const spoolBin = path.join(path.dirname(createRequire(import.meta.url).resolve('@spool/cli')), 'main.js');
const scratch = mkdtempSync(path.join(tmpdir(), 'spool-cli-'));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `spool args…` with `env` (no inherited SPOOL_*), `input` on stdin; resolves when it exited. */
function spool(args: string[], env: Record<string, string> = {}, input?: string | Buffer): Promise<Ran> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPOOL_')));
  const child = spawn(process.execPath, [spoolBin, ...args], {
    env: { ...clean, XDG_CONFIG_HOME: path.join(scratch, 'no-config'), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const file = (name: string, content: string | Buffer): string => {
  const at = path.join(scratch, name);
  writeFileSync(at, content);
  return at;
};

const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\n`).join('');

describe('spool CLI', () => {
  let server: SpoolServer;
  let env: Record<string, string>;
  before(async () => {
    server = await startTestServer();
    env = { SPOOL_SERVER: server.url };
  });
  after(() => server.close());

  it('uploads a file, printing its URL and web page link, then reads it by id, name and URL', async () => {
    const log = file('build.log', numbered(0, 999));
    const up = await spool(['upload', log, '--name', 'cli/build.log'], env);
    expect(up.code, up.stderr).to.equal(0);
    const [httpUri, webUrl] = up.stdout.trim().split('\n');
    expect(httpUri).to.match(new RegExp(`^${server.url}/api/v1/resources/[0-9a-f-]+/content$`));
    const id = /resources\/([0-9a-f-]+)\/content/.exec(httpUri ?? '')?.[1] as string;
    expect(webUrl).to.equal(`${server.url}/#/resources/${id}`);
    expect(up.stderr).to.match(/completed .*: 8890 bytes, 1000 lines, crc32 [0-9a-f]{8}/);

    expect((await spool(['tail', 'cli/build.log', '-n', '2'], env)).stdout).to.equal('line 998\nline 999\n');
    expect((await spool(['lines', id, '--from', '500', '--count', '2'], env)).stdout).to.equal('line 500\nline 501\n');
    expect((await spool(['cat', httpUri as string, '--range', '0-6'], env)).stdout).to.equal('line 0\n');
    expect((await spool(['cat', webUrl as string, '--range', '-9'], env)).stdout).to.equal('line 999\n');
    expect((await spool(['cat', `${server.wsUrl}/ws/spool/v1/resources/cli/build.log`], env)).stdout).to.equal(numbered(0, 999));
    const status = await spool(['status', `${server.url}/api/v1/names/cli/build.log`], env);
    expect(status.stdout).to.include(`id: ${id}\n`).and.include('state: COMPLETED\n').and.include('lines: 1000\n');
    const listed = await spool(['ls', '--name-prefix', 'cli/'], env);
    expect(listed.stdout).to.match(new RegExp(`^${id}  COMPLETED .* 8890 .* 1000 .* cli/build.log$`, 'm'));

    expect((await spool(['rm', id], env)).code).to.equal(EXIT.OK);
    const gone = await spool(['status', id], env);
    expect(gone.code).to.equal(EXIT.NOT_FOUND);
    expect(gone.stderr.trim().split('\n')).to.have.length(1);
    expect(gone.stderr).to.match(/^spool: GET \/api\/v1\/resources\/.*: RESOURCE_NOT_FOUND: /);
  });

  it('uploads stdin as it comes (a pipe), then tail -f ends with 0 on COMPLETED', async () => {
    const up = await spool(['upload', '-', '--name', 'cli/piped.log', '--no-progress'], env, numbered(1, 50));
    expect(up.code, up.stderr).to.equal(0);
    const tailed = await spool(['tail', '-f', '-n', '3', 'cli/piped.log'], env);
    expect([tailed.code, tailed.stdout]).to.deep.equal([0, 'line 48\nline 49\nline 50\n']);
  });

  it('keeps uploading a growing file with --follow until it stops growing', async () => {
    const log = file('growing.log', 'first\n');
    const running = spool(['upload', log, '--follow', '--idle', '1', '--name', 'cli/growing.log', '--no-progress'], env);
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 150));
      appendFileSync(log, `more ${i}\n`);
    }
    const up = await running;
    expect(up.code, up.stderr).to.equal(0);
    expect((await spool(['cat', 'cli/growing.log'], env)).stdout).to.equal('first\nmore 0\nmore 1\nmore 2\nmore 3\nmore 4\n');
  });

  it('resumes an upload after its connection was cut', async () => {
    const MIB = 1024 * 1024;
    const bytes = Buffer.alloc(12 * MIB);
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
    const big = file('big.bin', bytes);
    const proxy = await CuttingProxy.start({ targetPort: server.port, seed: 12, maxCuts: 2, minBytes: 1 * MIB, maxBytes: 3 * MIB });
    try {
      const up = await spool(['upload', big, '--no-progress', '--server', `http://127.0.0.1:${proxy.port}`], env);
      expect(up.code, up.stderr).to.equal(0);
      expect(proxy.cuts).to.equal(2);
      const crc32 = zlib.crc32(bytes).toString(16).padStart(8, '0');
      expect(up.stderr).to.include(`${12 * MIB} bytes, crc32 ${crc32}`);
    } finally {
      await proxy.close();
    }
  });

  it('tail -f exits 3 when the resource FAILED, and 4 when the server cannot be reached', async () => {
    const created = await fetch(`${server.url}/api/v1/resources`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filename: 'doomed.log', name: 'cli/doomed.log' }),
    });
    const { id } = (await created.json()) as { id: string };
    await fetch(`${server.url}/api/v1/resources/${id}/content`, {
      method: 'PATCH',
      headers: { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: 'kept\n',
    });
    const following = spool(['tail', '-f', 'cli/doomed.log'], env);
    await new Promise((r) => setTimeout(r, 500));
    await fetch(`${server.url}/api/v1/resources/${id}/fail`, { method: 'POST' });
    const failed = await following;
    expect([failed.code, failed.stdout]).to.deep.equal([EXIT.FAILED, 'kept\n']);
    expect(failed.stderr).to.match(/^spool: UPLOAD_FAILED: .*FAILED/);

    const unreachable = await spool(['tail', '-f', 'anything', '--server', 'http://127.0.0.1:9'], env);
    expect(unreachable.code).to.equal(EXIT.CONNECTION);
    expect(unreachable.stderr.trim().split('\n')).to.have.length(1);
  });

  it('refuses a bad command line with exit code 2', async () => {
    expect((await spool(['tail'], env)).code).to.equal(EXIT.USAGE);
    expect((await spool(['lines', 'x', '--from', '-1'], env)).code).to.equal(EXIT.USAGE);
    expect((await spool(['frobnicate'], env)).code).to.equal(EXIT.USAGE);
    const help = await spool(['--help'], env);
    expect([help.code, help.stdout]).to.satisfy(([code, out]: [number, string]) => code === 0 && /Exit codes: 0 ok/.test(out));
  });

  describe('with access control on', () => {
    const ADMIN = 'admin-token-0123456789abcdef';
    let secured: SpoolServer;
    before(async () => {
      secured = await startTestServer({ authEnabled: true, apiTokens: `ops:admin:${ADMIN},alice:uploader:alice-token-0123456789ab` });
    });
    after(() => secured.close());

    it('takes the token from --token, SPOOL_TOKEN or the config file; without one exits 6', async () => {
      const log = file('secret.log', 'secret\n');
      const denied = await spool(['upload', log, '--server', secured.url]);
      expect(denied.code).to.equal(EXIT.DENIED);
      expect(denied.stderr.trim().split('\n')).to.have.length(1);
      const up = await spool(['upload', log, '--server', secured.url, '--token', ADMIN, '--no-progress']);
      expect(up.code, up.stderr).to.equal(0);
      const [httpUri, webUrl] = up.stdout.trim().split('\n');
      // The links carry the resource's read token: they open it without an API token.
      expect(webUrl).to.match(/\?token=spr_/);
      expect((await spool(['cat', httpUri as string])).stdout).to.equal('secret\n');
      expect((await spool(['cat', webUrl as string])).stdout).to.equal('secret\n');
      const id = /resources\/([0-9a-f-]+)\//.exec(httpUri as string)?.[1] as string;
      expect((await spool(['status', id, '--server', secured.url])).code).to.equal(EXIT.DENIED);
      expect((await spool(['status', id], { SPOOL_SERVER: secured.url, SPOOL_TOKEN: ADMIN })).code).to.equal(EXIT.OK);
      const config = file('cli.json', JSON.stringify({ server: secured.url, token: ADMIN }));
      const listed = await spool(['ls'], { SPOOL_CLI_CONFIG: config });
      expect([listed.code, listed.stdout]).to.satisfy(([code, out]: [number, string]) => code === 0 && out.includes(id));
    });
  });

  it('blobs: put, ls, get, rm', async () => {
    const blob = file('blob.bin', Buffer.from([0, 1, 2, 255]));
    const as = ['blobs', '--user', 'carol'];
    expect((await spool([...as, 'put', 'b-1', blob], env)).code).to.equal(0);
    expect((await spool([...as, 'ls'], env)).stdout).to.equal('b-1\n');
    const out = path.join(scratch, 'blob-copy.bin');
    expect((await spool([...as, 'get', 'b-1', '-o', out], env)).code).to.equal(0);
    expect(Buffer.from(await import('node:fs').then((fs) => fs.readFileSync(out))).equals(Buffer.from([0, 1, 2, 255]))).to.equal(true);
    expect((await spool([...as, 'rm', 'b-1'], env)).code).to.equal(0);
    expect((await spool([...as, 'get', 'b-1'], env)).code).to.not.equal(0);
  });

  it('hsp: ping, upload, status, get over TCP', async () => {
    const port = String(server.host.tcpPorts.hsp);
    const as = ['hsp', '--hsp-port', port];
    expect((await spool([...as, 'ping'], env)).stdout).to.equal('pong:spool\n');
    const up = await spool([...as, 'upload', file('hsp.txt', 'over tcp\n')], env);
    expect(up.code, up.stderr).to.equal(0);
    const id = /completed ([0-9a-f-]+):/.exec(up.stderr)?.[1] as string;
    expect(JSON.parse((await spool([...as, 'status', id], env)).stdout)).to.include({ id, size: 9 });
    expect((await spool([...as, 'get', id], env)).stdout).to.equal('over tcp\n');
  });

  it('send/receive through a pipe, in either order', async () => {
    const receiving = spool(['receive', 'cli/pipe-1'], env);
    const sent = await spool(['send', 'cli/pipe-1', '-'], env, 'through the pipe\n');
    expect(sent.code, sent.stderr).to.equal(0);
    const received = await receiving;
    expect([received.code, received.stdout]).to.deep.equal([0, 'through the pipe\n']);
    // The sender first: its answer (progress lines) comes before the receiver is there.
    const sending = spool(['send', 'cli/pipe-2', '-'], env, 'sender first\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await spool(['receive', 'cli/pipe-2'], env);
    expect([second.code, second.stdout]).to.deep.equal([0, 'sender first\n']);
    expect((await sending).code).to.equal(0);
  });
});
