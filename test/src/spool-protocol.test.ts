/**
 * Spool's own WebSocket protocol on the wire (docs/protocols/spool-websocket.md): every
 * message, offsets, resume, push-follow, request/reply reads, and every refusal —
 * an `error` message, then a close whose reason starts with the same code.
 */
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { startTestServer } from './helpers/server.js';
import { crc32, createRawUpload, md5, RawSpoolSocket } from './helpers/spool-raw-client.js';

interface Refusal {
  error: Record<string, unknown>;
  closed: { code: number; reason: string };
}

/** The refusal a socket got: its `error` message and the close after it. */
async function refusal(socket: RawSpoolSocket): Promise<Refusal> {
  const closed = await socket.closed;
  const error = socket.texts.find((m) => (m as { type?: string }).type === 'error') as Record<string, unknown> | undefined;
  if (!error) throw new Error(`no error message before close ${closed.code} ${closed.reason}`);
  return { error, closed };
}

function expectRefusal(r: Refusal, code: string, closeCode: number): void {
  expect(r.error.code).to.equal(code);
  expect(r.closed.code).to.equal(closeCode);
  expect(r.closed.reason.startsWith(`${code}: `)).to.equal(true, r.closed.reason);
  expect(r.error.message).to.be.a('string').and.not.equal('');
}

/**
 * Resumes `id`, retrying while the server still holds the previous writer (it releases it
 * once it notices the connection is gone): WRITER_CONFLICT is the only refusal expected.
 */
async function resumeOnceReleased(
  wsUrl: string,
  id: string,
  headers: Record<string, string> = {},
): Promise<{ socket: RawSpoolSocket; ready: Record<string, unknown> }> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const socket = new RawSpoolSocket(`${wsUrl}/ws/spool/v1/upload`, headers);
    await socket.opened();
    socket.sendJson({ type: 'resume', id });
    const answer = await socket.waitFor((m) => m.type === 'ready' || m.type === 'error');
    if (answer.type === 'ready') return { socket, ready: answer };
    expect(answer.code).to.equal('WRITER_CONFLICT');
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`resource ${id} was never released`);
}

async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Spool WebSocket protocol (wire)', () => {
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('create → ready (offset 0, references), data, durable acks, finish → completed', async () => {
    const { socket, ready } = await createRawUpload(server.wsUrl);
    expect(ready).to.include({ type: 'ready', offset: 0, state: 'INITIATED' });
    const id = ready.id;
    const base = server.wsUrl;
    expect(ready.references).to.deep.equal({
      spool: `${base}/ws/spool/v1/resources/${id}`,
      step: `${base}/ws/streaming/download/${id}`,
      http: `${server.url}/api/v1/resources/${id}/content`,
    });
    expect(ready).not.to.have.property('writeToken'); // access control is off
    const parts = [Buffer.from('alpha\n'), Buffer.alloc(100_000, 'b'), Buffer.from('\nomega\n')];
    for (const part of parts) await socket.binary(part);
    const all = Buffer.concat(parts);
    await socket.waitFor((m) => m.type === 'durable' && m.offset === all.length);
    const durables = socket.texts.filter((m) => (m as { type: string }).type === 'durable').map((m) => (m as { offset: number }).offset);
    expect(durables).to.deep.equal([...durables].sort((a, b) => a - b)); // never backwards
    // An MD5 the upload did not compute (the default is CRC-32) is computed from the stored bytes, verified and kept.
    socket.sendJson({ type: 'finish', md5: md5(all) });
    expect(await socket.message('completed')).to.deep.equal({
      type: 'completed',
      size: all.length,
      md5: md5(all),
      checksums: { crc32: crc32(all), md5: md5(all) },
      lines: 3,
    });
    socket.ws.close(1000, 'Upload done');
    expect((await socket.closed).code).to.equal(1000);
  });

  it('finish without a checksum is accepted: the server returns its own (CRC-32 by default; md5 empty for older clients)', async () => {
    const { socket } = await createRawUpload(server.wsUrl, {
      metadata: { filename: 'a.bin', mimeType: 'application/octet-stream', supportsLineAccess: false },
    });
    await socket.binary(Buffer.from('xyz'));
    socket.sendJson({ type: 'finish' });
    expect(await socket.message('completed')).to.deep.equal({
      type: 'completed',
      size: 3,
      md5: '',
      checksums: { crc32: crc32('xyz') },
      lines: null,
    });
    socket.ws.close();
  });

  it('a dropped upload stays resumable: resume → ready at the durable offset, then the rest', async () => {
    const { socket, ready } = await createRawUpload(server.wsUrl);
    await socket.binary(Buffer.from('first half\n'));
    await socket.waitFor((m) => m.type === 'durable' && m.offset === 11);
    socket.ws.terminate(); // no close frame, no finish: a lost connection

    // The server releases the writer when it notices; until then a resume is refused as a second writer.
    const { socket: socket2, ready: answer } = await resumeOnceReleased(server.wsUrl, ready.id);
    expect(answer).to.include({ type: 'ready', id: ready.id, offset: 11, state: 'IN_PROGRESS' });
    await socket2.binary(Buffer.from('second half\n'));
    socket2.sendJson({ type: 'finish', md5: md5('first half\nsecond half\n') });
    expect(await socket2.message('completed')).to.include({ size: 23, lines: 2 });
    socket2.ws.close();
  });

  it('resume with the right explicit offset works; abort → aborted, the resource is FAILED with its bytes', async () => {
    const { socket, ready } = await createRawUpload(server.wsUrl);
    await socket.binary(Buffer.from('partial'));
    await socket.waitFor((m) => m.type === 'durable' && m.offset === 7);
    socket.ws.close(1000);
    await socket.closed;
    await waitUntil(() => server.core.activeUpload(ready.id) === undefined, 'the writer to be released');
    const resumed = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
    await resumed.opened();
    resumed.sendJson({ type: 'resume', id: ready.id, offset: 7 });
    expect(await resumed.message('ready')).to.include({ offset: 7 });
    resumed.sendJson({ type: 'abort', reason: 'build cancelled' });
    expect(await resumed.message('aborted')).to.deep.equal({ type: 'aborted', size: 7 });
    const status = await server.core.getStatus(ready.id);
    expect(status).to.include({ state: 'FAILED', size: 7 });
    expect(status.error).to.match(/build cancelled/);
    resumed.ws.close();
  });

  it('a follower gets status at once, pushed data (announced by offset), then COMPLETED after the last byte', async () => {
    const { socket, ready } = await createRawUpload(server.wsUrl);
    const follower = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/resources/${ready.id}`);
    // Statuses carry the resource's id: a connection opened by name learns it (and reconnects by it).
    expect(await follower.message('status')).to.deep.equal({ type: 'status', id: ready.id, state: 'INITIATED', size: 0, lines: 0 });
    follower.sendJson({ type: 'follow', from: 0 });
    const content = Buffer.from(Array.from({ length: 2000 }, (_, i) => `line ${i}\n`).join(''));
    for (let at = 0; at < content.length; at += 5000) await socket.binary(content.subarray(at, at + 5000));
    socket.sendJson({ type: 'finish' });
    await socket.message('completed');
    await follower.waitFor((m) => m.type === 'status' && m.state === 'COMPLETED');
    // Every binary message follows its `data` header; the bytes are contiguous from 0.
    let expected = 0;
    const received: Buffer[] = [];
    let completedAt = -1;
    follower.sequence.forEach((message, index) => {
      if (Buffer.isBuffer(message)) {
        const header = follower.sequence[index - 1] as Record<string, unknown>;
        expect(header).to.include({ type: 'data', offset: expected, length: message.length });
        expected += message.length;
        received.push(message);
      } else if (message.type === 'status' && message.state === 'COMPLETED') {
        completedAt = index;
      }
    });
    expect(Buffer.concat(received).equals(content)).to.equal(true);
    expect(completedAt).to.equal(follower.sequence.length - 1); // after every byte
    expect(follower.sequence[completedAt]).to.include({ size: content.length, lines: 2000 });
    expect(follower.sequence[completedAt]).to.have.deep.property('checksums', { crc32: crc32(content) });
    follower.ws.close();
    socket.ws.close();
  });

  it('answers readRange / readLines by request id on the same connection; a bad read fails only that request', async () => {
    const { socket, ready } = await createRawUpload(server.wsUrl);
    await socket.binary(Buffer.from('zero\none\ntwo\n'));
    socket.sendJson({ type: 'finish' });
    await socket.message('completed');
    const reader = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/resources/${ready.id}`);
    await reader.message('status');
    reader.sendJson({ type: 'readRange', requestId: 7, start: 5, end: 9 });
    reader.sendJson({ type: 'readRange', requestId: 8, start: 0, end: 999 });
    reader.sendJson({ type: 'readLines', requestId: 9, start: 1, count: 2 });
    reader.sendJson({ type: 'readLines', requestId: 10, start: 2, count: 5 });
    await reader.waitFor((m) => m.requestId === 10);
    expect(reader.texts.filter((m) => (m as { type: string }).type !== 'status')).to.deep.equal([
      { type: 'range', requestId: 7, start: 5, end: 9 },
      {
        type: 'error',
        requestId: 8,
        code: 'INVALID_RANGE',
        message: `Range [0, 999) is not within [0, 13] of resource ${ready.id}`,
        details: { start: 0, end: 999, size: 13 },
      },
      { type: 'lines', requestId: 9, start: 1, lines: ['one\n', 'two\n'] },
      {
        type: 'error',
        requestId: 10,
        code: 'LINES_OUT_OF_RANGE',
        message: `Lines [2, 7) are not within the 3 lines of resource ${ready.id}`,
        details: { start: 2, count: 5, lines: 3 },
      },
    ]);
    expect(reader.binaries.map((b) => b.toString())).to.deep.equal(['one\n']);
    expect(reader.ws.readyState).to.equal(reader.ws.OPEN);
    reader.ws.close();
    socket.ws.close();
  });

  it('selects the spool.v1 subprotocol when offered', async () => {
    const socket = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
    await socket.opened();
    expect(socket.ws.protocol).to.equal('');
    socket.ws.close();
    const { WebSocket } = await import('ws');
    const offered = new WebSocket(`${server.wsUrl}/ws/spool/v1/upload`, ['spool.v1']);
    await new Promise((resolve, reject) => {
      offered.once('open', resolve);
      offered.once('error', reject);
    });
    expect(offered.protocol).to.equal('spool.v1');
    offered.close();
  });

  describe('refusals: an error message, then a close whose reason starts with the code', () => {
    it('malformed JSON → INVALID_MESSAGE, 1008', async () => {
      const socket = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await socket.opened();
      socket.ws.send('{"type": "create",');
      const r = await refusal(socket);
      expectRefusal(r, 'INVALID_MESSAGE', 1008);
      expect(r.closed.reason).to.match(/^INVALID_MESSAGE: Malformed JSON/);
    });

    it('unknown message type → INVALID_MESSAGE naming the accepted ones', async () => {
      const socket = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await socket.opened();
      socket.sendJson({ type: 'StartUpload' });
      const r = await refusal(socket);
      expectRefusal(r, 'INVALID_MESSAGE', 1008);
      expect(r.error.message).to.equal('Unknown message type "StartUpload"; expected one of create, resume, finish, abort');
    });

    it('invalid fields → INVALID_MESSAGE; bad metadata → INVALID_METADATA', async () => {
      const a = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await a.opened();
      a.sendJson({ type: 'resume', id: 'x', offset: -1 });
      expectRefusal(await refusal(a), 'INVALID_MESSAGE', 1008);
      const b = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await b.opened();
      b.sendJson({ type: 'create', metadata: { filename: '', mimeType: 'text/plain', supportsLineAccess: true } });
      expectRefusal(await refusal(b), 'INVALID_METADATA', 1008);
    });

    it('data before create → PROTOCOL_VIOLATION, 1002', async () => {
      const socket = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await socket.opened();
      await socket.binary(Buffer.from('too early'));
      const r = await refusal(socket);
      expectRefusal(r, 'PROTOCOL_VIOLATION', 1002);
      expect(r.error.message).to.equal('Binary data before create or resume');
    });

    it('finish before create, and create twice → PROTOCOL_VIOLATION', async () => {
      const a = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await a.opened();
      a.sendJson({ type: 'finish' });
      expectRefusal(await refusal(a), 'PROTOCOL_VIOLATION', 1002);
      const { socket: b, ready } = await createRawUpload(server.wsUrl);
      b.sendJson({ type: 'create', metadata: { filename: 'x', mimeType: 'text/plain', supportsLineAccess: true } });
      expectRefusal(await refusal(b), 'PROTOCOL_VIOLATION', 1002);
      // A refused upload fails its resource (bytes kept), unlike a dropped one.
      await waitUntil(() => server.core.activeUpload(ready.id) === undefined, 'the writer to end');
      expect((await server.core.getStatus(ready.id)).state).to.equal('FAILED');
    });

    it('resume of an unknown id → RESOURCE_NOT_FOUND', async () => {
      const socket = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await socket.opened();
      socket.sendJson({ type: 'resume', id: 'no-such-resource' });
      const r = await refusal(socket);
      expectRefusal(r, 'RESOURCE_NOT_FOUND', 1008);
      expect(r.error.details).to.deep.equal({ id: 'no-such-resource' });
    });

    it('resume at the wrong offset → OFFSET_MISMATCH with the durable offset in details', async () => {
      const { socket, ready } = await createRawUpload(server.wsUrl);
      await socket.binary(Buffer.from('12345'));
      await socket.waitFor((m) => m.type === 'durable' && m.offset === 5);
      socket.ws.close();
      await waitUntil(() => server.core.activeUpload(ready.id) === undefined, 'the writer to be released');
      const resumed = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await resumed.opened();
      resumed.sendJson({ type: 'resume', id: ready.id, offset: 3 });
      const r = await refusal(resumed);
      expectRefusal(r, 'OFFSET_MISMATCH', 1008);
      expect(r.error.details).to.deep.equal({ id: ready.id, expected: 5, got: 3 });
    });

    it('a second writer → WRITER_CONFLICT; the first one carries on unharmed', async () => {
      const { socket, ready } = await createRawUpload(server.wsUrl);
      await socket.binary(Buffer.from('one writer\n'));
      const second = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await second.opened();
      second.sendJson({ type: 'resume', id: ready.id });
      expectRefusal(await refusal(second), 'WRITER_CONFLICT', 1008);
      socket.sendJson({ type: 'finish', md5: md5('one writer\n') });
      expect(await socket.message('completed')).to.include({ size: 11 });
      socket.ws.close();
    });

    it('resume of a terminal resource → RESOURCE_TERMINAL', async () => {
      const { socket, ready } = await createRawUpload(server.wsUrl);
      socket.sendJson({ type: 'finish' });
      await socket.message('completed');
      socket.ws.close();
      await waitUntil(() => server.core.activeUpload(ready.id) === undefined, 'the writer to end');
      const late = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
      await late.opened();
      late.sendJson({ type: 'resume', id: ready.id });
      const r = await refusal(late);
      expectRefusal(r, 'RESOURCE_TERMINAL', 1008);
      expect(r.error.details).to.deep.equal({ id: ready.id, state: 'COMPLETED' });
    });

    it('a checksum that does not match → CHECKSUM_MISMATCH, 1011, resource FAILED', async () => {
      const { socket, ready } = await createRawUpload(server.wsUrl);
      await socket.binary(Buffer.from('abc'));
      socket.sendJson({ type: 'finish', md5: md5('abd') });
      expectRefusal(await refusal(socket), 'CHECKSUM_MISMATCH', 1011);
      expect((await server.core.getStatus(ready.id)).state).to.equal('FAILED');
    });

    it('resource path: unknown id → RESOURCE_NOT_FOUND; follow past the end → INVALID_RANGE; binary → PROTOCOL_VIOLATION', async () => {
      const unknown = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/resources/nope`);
      expectRefusal(await refusal(unknown), 'RESOURCE_NOT_FOUND', 1008);

      const { socket, ready } = await createRawUpload(server.wsUrl);
      await socket.binary(Buffer.from('four'));
      socket.sendJson({ type: 'finish' });
      await socket.message('completed');
      socket.ws.close();
      const pastEnd = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/resources/${ready.id}`);
      await pastEnd.message('status');
      pastEnd.sendJson({ type: 'follow', from: 5 });
      expectRefusal(await refusal(pastEnd), 'INVALID_RANGE', 1008);

      const binary = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/resources/${ready.id}`);
      await binary.message('status');
      await binary.binary(Buffer.from('no'));
      expectRefusal(await refusal(binary), 'PROTOCOL_VIOLATION', 1002);
    });

    it('an unknown path under /ws is refused before the upgrade with 404', async () => {
      const socket = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v2/upload`);
      const error = await socket.opened().catch((e: Error) => e);
      expect(String(error)).to.match(/404/);
    });
  });
});

describe('Spool WebSocket protocol: access control', () => {
  const TOKENS = 'root:admin:admin-secret-0123456789,ci:uploader:uploader-secret-0123456789,viewer:reader:reader-secret-0123456789';
  const uploader = { authorization: 'Bearer uploader-secret-0123456789' };
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer({ authEnabled: true, apiTokens: TOKENS });
  });
  after(async () => {
    await server.close();
  });

  it('no token / an unknown token → UNAUTHORIZED, 1008, the secret never echoed', async () => {
    const none = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
    const r = await refusal(none);
    expectRefusal(r, 'UNAUTHORIZED', 1008);
    expect(r.error.message).to.match(/access token is required/);
    const wrong = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/resources/x?token=not-a-real-token-at-all`);
    const w = await refusal(wrong);
    expectRefusal(w, 'UNAUTHORIZED', 1008);
    expect(w.closed.reason).not.to.contain('not-a-real-token-at-all');
  });

  it('a reader token may not create → FORBIDDEN', async () => {
    const socket = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`, { authorization: 'Bearer reader-secret-0123456789' });
    await socket.opened();
    socket.sendJson({ type: 'create', metadata: { filename: 'a', mimeType: 'text/plain', supportsLineAccess: true } });
    const r = await refusal(socket);
    expectRefusal(r, 'FORBIDDEN', 1008);
    expect(r.error.message).to.equal('Token "viewer" (reader) may not create');
  });

  it('create returns a write token and a read token; read URLs carry the read token; each token opens only its resource', async () => {
    const { socket, ready } = await createRawUpload(server.wsUrl, { headers: uploader });
    const writeToken = ready.writeToken as string;
    const readToken = ready.readToken as string;
    expect(writeToken).to.match(/^spw_/);
    expect(readToken).to.match(/^spr_/);
    const refs = ready.references as Record<string, string>;
    for (const uri of Object.values(refs)) expect(uri).to.contain(`?token=${encodeURIComponent(readToken)}`);
    await socket.binary(Buffer.from('classified\n'));
    await socket.waitFor((m) => m.type === 'durable' && m.offset === 11);
    socket.ws.terminate();

    // The shared read URL reads.
    const shared = new RawSpoolSocket(refs.spool as string);
    expect(await shared.message('status')).to.include({ size: 11 });
    shared.ws.close();
    // The read token does not allow writing, nor reading another resource.
    const other = await createRawUpload(server.wsUrl, { headers: uploader });
    const crossed = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/resources/${other.ready.id}?token=${readToken}`);
    const c = await refusal(crossed);
    expectRefusal(c, 'FORBIDDEN', 1008);
    expect(c.closed.reason).to.match(/does not allow read of resource/);
    expect(c.closed.reason).not.to.contain(readToken);
    const readerResumes = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`, { authorization: `Bearer ${readToken}` });
    await readerResumes.opened();
    readerResumes.sendJson({ type: 'resume', id: ready.id });
    expectRefusal(await refusal(readerResumes), 'FORBIDDEN', 1008);
    // Another resource's write token does not resume this one.
    const foreign = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload?token=${other.ready.writeToken as string}`);
    await foreign.opened();
    foreign.sendJson({ type: 'resume', id: ready.id });
    expectRefusal(await refusal(foreign), 'FORBIDDEN', 1008);
    other.socket.ws.close();

    // The write token resumes (as a Bearer credential), without any API token.
    const resumed = await resumeOnceReleased(server.wsUrl, ready.id, { authorization: `Bearer ${writeToken}` });
    expect(resumed.ready).to.include({ type: 'ready', offset: 11 });
    expect(resumed.ready).not.to.have.property('writeToken'); // only issued on create
    resumed.socket.sendJson({ type: 'finish', md5: md5('classified\n') });
    expect(await resumed.socket.message('completed')).to.include({ size: 11 });
    resumed.socket.ws.close();
  });
});
