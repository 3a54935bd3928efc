/**
 * tus 1.0 black-box, with the real tus-js-client in Node against the real server: every
 * extension tus-js-client uses, and what only Spool does — the upload is a resource from
 * its creation, followed live over HTTP and WebSocket while the client is still sending.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createDownloadClient } from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import type { HttpRequest, HttpResponse as TusResponse } from 'tus-js-client';
import { type CliServer, exited, freePort, killCli, startCli } from './helpers/cli-process.js';
import { crc32, eventually, logLines, md5, request } from './helpers/http-client.js';
import { freshDataDir, startTestServer } from './helpers/server.js';
import { GatedSource, responseOf, startTusUpload, uploadIdOf } from './helpers/tus-client.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** A streaming GET of the HTTP API's follow mode, collecting what it receives. */
function followOverHttp(url: string): { received: () => Buffer; ended: Promise<Buffer> } {
  const chunks: Buffer[] = [];
  const ended = (async () => {
    const response = await fetch(url);
    if (!response.ok || !response.body) throw new Error(`follow answered ${response.status}`);
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  })();
  ended.catch(() => undefined);
  return { received: () => Buffer.concat(chunks), ended };
}

describe('tus 1.0 with tus-js-client', function () {
  this.timeout(30_000);
  let server: SpoolServer;
  let endpoint: string;
  before(async () => {
    // With the resource's MD5 (not the default): both ways of computing it are checked below.
    server = await startTestServer({ tusUploadChecksum: 'md5' });
    endpoint = `${server.url}/files/`;
  });
  after(() => server.close());

  const head = (id: string) => request(`${endpoint}${id}`, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
  const content = async (id: string) => (await request(`${server.url}/api/v1/resources/${id}/content`)).body;

  it('uploads in chunks: a COMPLETED resource with the metadata mapped, the same bytes over HTTP and WebSocket', async () => {
    const data = Buffer.from(logLines(4000));
    const { upload, done } = startTusUpload(data, {
      endpoint,
      chunkSize: 64 * 1024,
      metadata: { filename: 'build.log', filetype: 'text/plain', team: 'ci' },
    });
    await done;
    const id = uploadIdOf(upload.url);
    const record = await server.core.getRecord(id);
    expect(record).to.include({ filename: 'build.log', mimeType: 'text/plain', supportsLineAccess: true, state: 'COMPLETED' });
    expect(record).to.include({ size: data.length, lines: 4000, checksum: md5(data) });
    expect((await content(id)).equals(data)).to.equal(true);
    const overWebSocket = await createDownloadClient().open(`${server.wsUrl}/ws/spool/v1/resources/${id}`);
    expect((await overWebSocket.readRange(0, data.length)).equals(data)).to.equal(true);
    await overWebSocket.close();
    const described = await head(id);
    expect(described.status).to.equal(200);
    expect(described.headers).to.include({
      'tus-resumable': '1.0.0',
      'upload-offset': String(data.length),
      'upload-length': String(data.length),
      'upload-metadata': `filename ${b64('build.log')},filetype ${b64('text/plain')},team ${b64('ci')}`,
      'spool-resource': id,
      'spool-state': 'COMPLETED',
      'cache-control': 'no-store',
    });
    expect(described.headers['upload-expires']).to.equal(undefined);
    expect(described.headers.link).to.equal(`<${server.url}/api/v1/resources/${id}>; rel="describedby"`);
  });

  it('creation-with-upload, and every PATCH sent as POST with X-HTTP-Method-Override', async () => {
    const data = randomBytes(300_000);
    const sent: string[] = [];
    const { upload, done } = startTusUpload(data, {
      endpoint,
      chunkSize: 100_000,
      uploadDataDuringCreation: true,
      overridePatchMethod: true,
      metadata: { filename: 'blob.bin' },
      onBeforeRequest: (req: HttpRequest) => {
        sent.push(`${req.getMethod()} ${req.getHeader('X-HTTP-Method-Override') ?? ''}`.trim());
      },
    });
    await done;
    expect(sent).to.deep.equal(['POST', 'POST PATCH', 'POST PATCH']);
    const id = uploadIdOf(upload.url);
    expect(await server.core.getRecord(id)).to.include({ state: 'COMPLETED', mimeType: 'application/octet-stream', size: data.length });
    expect((await content(id)).equals(data)).to.equal(true);
  });

  it('deferred length: a stream of unknown size, its length said by the last PATCH', async () => {
    const data = Buffer.from(logLines(3000));
    const pieces = [data.subarray(0, 50_000), data.subarray(50_000, 90_001), data.subarray(90_001)];
    const { upload, done } = startTusUpload(Readable.from(pieces), {
      endpoint,
      chunkSize: 32 * 1024,
      uploadLengthDeferred: true,
      metadata: { filename: 'stream.log' },
    });
    await done;
    const id = uploadIdOf(upload.url);
    expect(await server.core.getRecord(id)).to.include({ state: 'COMPLETED', size: data.length });
    expect((await content(id)).equals(data)).to.equal(true);
    const described = await head(id);
    expect(described.headers['upload-length']).to.equal(String(data.length));
    expect(described.headers['upload-defer-length']).to.equal(undefined);
  });

  it('a follower reads the upload live over HTTP while tus-js-client is still sending its one PATCH', async () => {
    const data = Buffer.from(logLines(6000));
    const piece = 32 * 1024;
    let follower: ReturnType<typeof followOverHttp> | undefined;
    // The client may send a piece only once the follower has every earlier byte: proof the
    // follower reads the upload while it is being sent, with no timing involved.
    const source = new GatedSource(data, piece, (offset) =>
      eventually(() => ((follower?.received().length ?? 0) >= offset ? true : undefined), 10_000, `follower at ${offset}`).then(
        () => undefined,
      ),
    );
    const patches: string[] = [];
    const { upload, done } = startTusUpload(source, {
      endpoint,
      fileReader: source.fileReader,
      uploadSize: data.length,
      metadata: { filename: 'live.log', filetype: 'text/plain' },
      onUploadUrlAvailable: () => {
        follower = followOverHttp(`${server.url}/api/v1/resources/${uploadIdOf(upload.url)}/content?follow=1`);
      },
      onAfterResponse: (req: HttpRequest) => {
        if (req.getMethod() === 'PATCH') patches.push(req.getURL());
      },
    });
    await done;
    expect(patches).to.have.length(1);
    const followed = await (follower as ReturnType<typeof followOverHttp>).ended;
    expect(followed.equals(data)).to.equal(true);
  });

  it('pause and resume: an aborted PATCH keeps its bytes, start() resumes at HEAD’s offset; followers over HTTP and WebSocket see each byte once', async () => {
    const data = Buffer.from(logLines(8000));
    const piece = 16 * 1024;
    const pauseAt = 4 * piece;
    let paused = false;
    let resumed = false;
    let httpFollower: ReturnType<typeof followOverHttp> | undefined;
    let upload: ReturnType<typeof startTusUpload>['upload'] | undefined;
    const source = new GatedSource(data, piece, async (offset) => {
      if (offset === pauseAt && !resumed) {
        await eventually(() => ((httpFollower?.received().length ?? 0) >= pauseAt ? true : undefined), 10_000, 'follower at the pause');
        paused = true;
        await upload?.abort();
        await new Promise(() => undefined); // this request is gone
      }
    });
    const started = startTusUpload(source, {
      endpoint,
      fileReader: source.fileReader,
      uploadSize: data.length,
      metadata: { filename: 'paused.log', filetype: 'text/plain' },
      onUploadUrlAvailable: () => {
        httpFollower ??= followOverHttp(`${server.url}/api/v1/resources/${uploadIdOf(started.upload.url)}/content?follow=1`);
      },
    });
    upload = started.upload;
    await eventually(() => (paused ? true : undefined), 10_000, 'pause');
    const id = uploadIdOf(upload.url);
    // The server keeps what arrived and lets the writer go; the resource stays open.
    await eventually(() => (server.core.activeUpload(id) === undefined ? true : undefined), 10_000, 'writer released');
    const status = await server.core.getStatus(id);
    expect(status.state).to.equal('IN_PROGRESS');
    expect(status.size).to.equal(pauseAt);
    expect((await head(id)).headers['upload-offset']).to.equal(String(pauseAt));
    const wsFollower = await createDownloadClient().open(`${server.wsUrl}/ws/spool/v1/resources/${id}`);
    const wsChunks: Buffer[] = [];
    const wsFollowed = (async () => {
      for await (const chunk of wsFollower.follow()) wsChunks.push(chunk as Buffer);
      return Buffer.concat(wsChunks);
    })();

    // An aborted upload reports nothing: the same promise settles once the resumed one ends.
    resumed = true;
    upload.start();
    await started.done;
    expect((await (httpFollower as ReturnType<typeof followOverHttp>).ended).equals(data)).to.equal(true);
    expect((await wsFollowed).equals(data)).to.equal(true);
    await wsFollower.close();
    expect(await server.core.getRecord(id)).to.include({ state: 'COMPLETED', size: data.length, checksum: md5(data) });
  });

  it('termination: abort(true) deletes the upload; it is 404 from then on', async () => {
    const data = randomBytes(200_000);
    let terminated: Promise<void> | undefined;
    const { upload } = startTusUpload(data, {
      endpoint,
      chunkSize: 50_000,
      metadata: { filename: 'gone.bin' },
      onChunkComplete: () => {
        terminated ??= upload.abort(true);
      },
    });
    await eventually(() => (terminated ? true : undefined), 10_000, 'first chunk');
    await terminated;
    const id = uploadIdOf(upload.url);
    expect((await head(id)).status).to.equal(404);
    const gone = await server.core.getRecord(id).catch((err: { code: string }) => err.code);
    expect(gone).to.equal('RESOURCE_NOT_FOUND');
  });

  it('checksum: a wrong Upload-Checksum is 460 and keeps nothing; right ones (sha1, md5, sha256) are verified per PATCH', async () => {
    const data = Buffer.from(logLines(2000));
    const wrong = startTusUpload(data, {
      endpoint,
      metadata: { filename: 'bad.log' },
      onBeforeRequest: (req: HttpRequest) => {
        if (req.getMethod() === 'PATCH') req.setHeader('Upload-Checksum', `sha1 ${createHash('sha1').update('other').digest('base64')}`);
      },
    });
    const error = await wrong.done.then(
      () => undefined,
      (err: unknown) => err,
    );
    const { status, text } = responseOf(error);
    expect(status).to.equal(460);
    expect(text).to.match(/^CHECKSUM_MISMATCH: Upload-Checksum sha1 .* none of its \d+ bytes were kept\n$/);
    expect(String((error as Error).message)).to.include('response code: 460');
    const id = uploadIdOf(wrong.upload.url);
    expect((await head(id)).headers['upload-offset']).to.equal('0');
    expect(await server.core.getStatus(id)).to.include({ state: 'INITIATED', size: 0 });

    for (const algorithm of ['sha1', 'md5', 'sha256']) {
      const chunkSize = 20_000;
      const right = startTusUpload(data, {
        endpoint,
        chunkSize,
        metadata: { filename: `${algorithm}.log` },
        onBeforeRequest: (req: HttpRequest) => {
          if (req.getMethod() !== 'PATCH') return;
          const offset = Number(req.getHeader('Upload-Offset'));
          const digest = createHash(algorithm)
            .update(data.subarray(offset, offset + chunkSize))
            .digest('base64');
          req.setHeader('Upload-Checksum', `${algorithm} ${digest}`);
        },
      });
      await right.done;
      const rightId = uploadIdOf(right.upload.url);
      expect(await server.core.getRecord(rightId), algorithm).to.include({ state: 'COMPLETED', size: data.length });
      expect((await content(rightId)).equals(data), algorithm).to.equal(true);
    }
  });

  it('parallelUploads: 4 — partial uploads, then a final one concatenating them', async () => {
    const data = randomBytes(1024 * 1024 + 3);
    const responses: TusResponse[] = [];
    const { upload, done } = startTusUpload(data, {
      endpoint,
      parallelUploads: 4,
      metadata: { filename: 'parallel.bin', filetype: 'application/x-test' },
      onAfterResponse: (_req: HttpRequest, res: TusResponse) => {
        responses.push(res);
      },
    });
    await done;
    const id = uploadIdOf(upload.url);
    expect(await server.core.getRecord(id)).to.include({
      state: 'COMPLETED',
      size: data.length,
      filename: 'parallel.bin',
      mimeType: 'application/x-test',
      checksum: md5(data),
    });
    expect((await content(id)).equals(data)).to.equal(true);
    const final = await head(id);
    const concat = String(final.headers['upload-concat']);
    expect(concat).to.match(/^final;/);
    const partUrls = concat.slice('final;'.length).split(' ');
    expect(partUrls).to.have.length(4);
    let offset = 0;
    for (const url of partUrls) {
      const partId = uploadIdOf(url);
      const part = await server.core.getRecord(partId);
      expect(part).to.include({ state: 'COMPLETED', filename: 'upload.part' });
      expect((await content(partId)).equals(data.subarray(offset, offset + part.size))).to.equal(true);
      expect((await head(partId)).headers['upload-concat']).to.equal('partial');
      offset += part.size;
    }
    expect(offset).to.equal(data.length);
    expect(responses.filter((res) => res.getStatus() === 201)).to.have.length(5);
  });
});

describe('tus with access control on', function () {
  this.timeout(30_000);
  const UPLOADER = 'uploader-token-0123456789abcd';
  const READER = 'reader-token-0123456789abcdef';
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer({ authEnabled: true, apiTokens: `ci:uploader:${UPLOADER},dash:reader:${READER}` });
  });
  after(() => server.close());

  const failureOf = async (headers: Record<string, string>) => {
    const { done } = startTusUpload(randomBytes(1000), { endpoint: `${server.url}/files/`, headers });
    return responseOf(
      await done.then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
  };

  it('refuses tus-js-client without a token (401) and with a token that may not create (403)', async () => {
    expect(await failureOf({})).to.deep.include({ status: 401 });
    const forbidden = await failureOf({ Authorization: `Bearer ${READER}` });
    expect(forbidden.status).to.equal(403);
    expect(forbidden.text).to.match(/^FORBIDDEN: Token "dash" \(reader\) may not create/);
  });

  it('uploads with a Bearer token in tus-js-client’s headers; the issued write token then works on the upload alone', async () => {
    const data = Buffer.from(logLines(500));
    let writeToken: string | undefined;
    let readToken: string | undefined;
    const { upload, done } = startTusUpload(data, {
      endpoint: `${server.url}/files/`,
      chunkSize: 4096,
      headers: { Authorization: `Bearer ${UPLOADER}` },
      metadata: { filename: 'secret.log' },
      onAfterResponse: (req: HttpRequest, res: TusResponse) => {
        if (req.getMethod() !== 'POST') return;
        writeToken = res.getHeader('Spool-Write-Token');
        readToken = res.getHeader('Spool-Read-Token');
      },
    });
    await done;
    const id = uploadIdOf(upload.url);
    expect(writeToken).to.match(/^spw_/);
    expect(readToken).to.match(/^spr_/);
    const headWith = (token: string) =>
      request(`${server.url}/files/${id}`, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` } });
    expect((await headWith(readToken as string)).status).to.equal(200);
    const read = await request(`${server.url}/api/v1/resources/${id}/content`, { headers: { Authorization: `Bearer ${readToken}` } });
    expect(read.body.equals(data)).to.equal(true);
    // By default (uploadChecksums crc32) a tus upload gets a CRC-32, no MD5.
    const record = await server.core.getRecord(id);
    expect(record).to.include({ state: 'COMPLETED', checksum: null });
    expect(record.checksums).to.deep.equal({ crc32: crc32(data) });
    // An uploader may not delete; the resource's write token may.
    const terminate = (token: string) =>
      request(`${server.url}/files/${id}`, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` } });
    expect((await terminate(UPLOADER)).status).to.equal(403);
    expect((await terminate(readToken as string)).status).to.equal(403);
    expect((await terminate(writeToken as string)).status).to.equal(204);
  });
});

describe('tus: server killed (kill -9) mid-PATCH and restarted', function () {
  this.timeout(60_000);
  let running: CliServer | undefined;
  afterEach(async () => {
    await killCli(running);
    running = undefined;
  });

  it('tus-js-client resumes by itself from the offset the restarted server reports; the stored bytes equal the source', async () => {
    const port = await freePort();
    const env = {
      SPOOL_DATA_DIR: freshDataDir(),
      SPOOL_PORT: String(port),
      SPOOL_CHECKPOINT_INTERVAL_MS: '20',
      SPOOL_TUS_UPLOAD_CHECKSUM: 'md5',
    };
    running = await startCli(env);
    const first = running;
    const data = randomBytes(2 * 1024 * 1024);
    const piece = 64 * 1024;
    const killAt = 12 * piece;
    let restarted: Promise<CliServer> | undefined;
    let follower: ReturnType<typeof followOverHttp> | undefined;
    const requests: string[] = [];
    const source = new GatedSource(data, piece, async (offset) => {
      if (offset !== killAt || restarted) return;
      // Once readers have seen the first bytes, the server dies without warning and comes back.
      await eventually(() => ((follower?.received().length ?? 0) >= killAt ? true : undefined), 10_000, 'follower at the kill');
      first.child.kill('SIGKILL');
      restarted = exited(first.child).then(() => startCli(env));
    });
    const { upload, done } = startTusUpload(source, {
      endpoint: `${first.url}/files/`,
      fileReader: source.fileReader,
      uploadSize: data.length,
      retryDelays: Array.from({ length: 60 }, () => 250),
      metadata: { filename: 'crash.bin' },
      onUploadUrlAvailable: () => {
        follower ??= followOverHttp(`${first.url}/api/v1/resources/${uploadIdOf(upload.url)}/content?follow=1`);
      },
      onBeforeRequest: (req: HttpRequest) => {
        requests.push(req.getMethod());
      },
    });
    await done;
    // One creation: the client resumed the same upload (HEAD, then PATCH from its offset), it did not start over.
    expect(requests.filter((method) => method === 'POST')).to.have.length(1);
    expect(requests).to.include('HEAD');
    running = await (restarted as Promise<CliServer>);
    expect(running.stderr()).to.match(/interrupted upload may be resumed/);
    const id = uploadIdOf(upload.url);
    const resource = await request(`${running.url}/api/v1/resources/${id}`);
    expect(resource.json()).to.include({ state: 'COMPLETED', size: data.length, checksum: md5(data) });
    expect((await request(`${running.url}/api/v1/resources/${id}/content`)).body.equals(data)).to.equal(true);
  });
});
