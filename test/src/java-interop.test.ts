/**
 * Interop with a real Java client on Tomcat's jakarta.websocket implementation — the
 * stack Step's Java clients use (test/java/StepInteropClient.java). Needs `java` (17+)
 * and Debian's libtomcat10-java; .ci/run installs the latter.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { freshDataDir, startTestServer } from './helpers/server.js';
import { md5Hex, startRawUpload } from './helpers/step-raw-client.js';

const JARS = ['websocket', 'websocket-api', 'websocket-client-api', 'util', 'juli', 'api'].map((j) => `/usr/share/java/tomcat10-${j}.jar`);
const CLIENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../java/StepInteropClient.java');
const run = promisify(execFile);

async function java(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run('java', ['-cp', JARS.join(':'), CLIENT, ...args], { timeout: 60_000, encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

async function javaAvailable(): Promise<boolean> {
  if (!JARS.every((j) => existsSync(j))) return false;
  try {
    await run('java', ['-version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

describe('Interop with a Java Step client (Tomcat jakarta.websocket)', function () {
  this.timeout(120_000);
  let server: SpoolServer;
  before(async function () {
    // Skipped only where the Java stack cannot be installed (CI installs it); says so in the output.
    if (!(await javaAvailable())) this.skip();
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  it('uploads through getSendStream() and downloads with status-driven chunk and line requests', async () => {
    const file = path.join(freshDataDir(), 'java-input.log');
    const text = `${Array.from({ length: 20_000 }, (_, i) => `line ${i} — ünïcode\r\n`).join('')}unterminated`;
    writeFileSync(file, text);
    const up = await java('upload', server.wsUrl, file, 'text/plain', 'true');
    const md5 = md5Hex(Buffer.from(text));
    expect(up).to.include({ sentChecksum: md5, ackChecksum: md5, ackSize: Buffer.byteLength(text), numberOflines: 20_001 });
    const down = await java('download', String(up.uri));
    expect(down).to.include({ state: 'COMPLETED', size: Buffer.byteLength(text), md5, lines: 20_001 });
    expect(down.firstLine).to.equal('line 0 — ünïcode\r\n');
  });

  it('uploads a zero-byte file (no binary message) and gets size 0, 0 lines', async () => {
    const file = path.join(freshDataDir(), 'empty.log');
    writeFileSync(file, '');
    const up = await java('upload', server.wsUrl, file, 'text/plain', 'true');
    expect(up).to.include({ ackSize: 0, numberOflines: 0, ackChecksum: md5Hex('') });
  });

  it('follows a live upload to COMPLETED with the right bytes', async () => {
    const { socket, uri } = await startRawUpload(server.wsUrl, { mimeType: 'application/octet-stream', supportsLineAccess: false });
    const follower = java('download', uri);
    const parts: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const part = Buffer.alloc(50_000, i);
      parts.push(part);
      await socket.fragment(part, false);
      await new Promise((r) => setTimeout(r, 25));
    }
    await socket.fragment(Buffer.alloc(0), true);
    const all = Buffer.concat(parts);
    socket.sendJson({ '@': 'FinishUpload', checksum: md5Hex(all) });
    await socket.text(2);
    expect(await follower).to.include({ state: 'COMPLETED', size: all.length, md5: md5Hex(all), lines: -1 });
  });
});
