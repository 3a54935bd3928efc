/**
 * The SDK as a new user meets it (issue 13, items 3 and 8): a link a person can open,
 * open() by any URI (the HTTP link too), by id or by name, progress events and an
 * AbortSignal as tus-js-client users expect, and text recognised as text.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createDownloadClient,
  createUploadClient,
  ErrorCode,
  InvalidMetadataError,
  SpoolDownloadClient,
  type SpoolError,
  StepDownloadClient,
  UploadAbortedError,
  type UploadProgress,
} from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { eventually, logLines, request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

describe('SDK habits: links, open by anything, progress, AbortSignal, text', () => {
  let server: SpoolServer;
  let dir: string;
  before(async () => {
    server = await startTestServer();
    dir = mkdtempSync(path.join(tmpdir(), 'spool-sdk-habits-'));
  });
  after(() => server.close());

  it("upload('./build.log'): text/plain with line access; the reference has an http link a person opens with curl or a browser", async () => {
    const file = path.join(dir, 'build.log');
    const log = logLines(20);
    writeFileSync(file, log);
    const upload = await createUploadClient(server.url).upload(file);
    const { reference } = upload;
    expect(reference.uri).to.match(/^ws:/);
    expect(reference.httpUri).to.equal(`${server.url}/api/v1/resources/${reference.id}/content`);
    await upload.complete();
    const page = await request(reference.httpUri as string);
    expect([page.status, page.headers['content-type'], page.text()]).to.deep.equal([200, 'text/plain; charset=utf-8', log]);
    const meta = (await request(`${server.url}/api/v1/resources/${reference.id}`)).json<{ supportsLineAccess: boolean }>();
    expect(meta.supportsLineAccess).to.equal(true);
    // The Step client's reference gets the link too, from a Spool server.
    const step = await createUploadClient(server.url, { protocol: 'step' }).upload(file);
    expect(step.reference.httpUri).to.equal(`${server.url}/api/v1/resources/${step.reference.id}/content`);
    await step.complete();
  });

  it('a stream without a telling name: the first bytes decide the type', async () => {
    const text = await createUploadClient(server.url).upload(Buffer.from('plain words\n'), { filename: 'notes' });
    const binary = await createUploadClient(server.url).upload(Buffer.from([0, 1, 2, 3]), { filename: 'blob' });
    for (const [upload, type, lines] of [
      [text, 'text/plain', true],
      [binary, 'application/octet-stream', false],
    ] as const) {
      await upload.complete();
      const meta = (await request(`${server.url}/api/v1/resources/${upload.reference.id}`)).json<{
        mimeType: string;
        supportsLineAccess: boolean;
      }>();
      expect([meta.mimeType, meta.supportsLineAccess]).to.deep.equal([type, lines]);
    }
  });

  it('open() takes the HTTP link, the names URL, an id or a name with the client’s url — over both protocols; anything else is a typed error', async () => {
    const upload = await createUploadClient(server.url).upload(Buffer.from('x\ny\n'), { filename: 'o.log', name: 'open/me' });
    const result = await upload.complete();
    const id = result.reference.id;
    const locations = [
      result.reference.httpUri as string,
      `${server.url}/api/v1/names/open/me`,
      `${server.url}/api/v1/resources/${id}`,
      { id },
      { name: 'open/me' },
      'open/me',
      id,
    ];
    for (const client of [new SpoolDownloadClient({ url: server.url }), new StepDownloadClient({ url: server.url })]) {
      for (const location of locations) {
        const resource = await client.open(location);
        expect((await resource.readRange(0, 4)).toString(), JSON.stringify(location)).to.equal('x\ny\n');
        await resource.close();
      }
    }
    const notResource = await createDownloadClient()
      .open(`${server.url}/health`)
      .catch((e: unknown) => e);
    expect(notResource).to.be.instanceOf(InvalidMetadataError);
    const noServer = await createDownloadClient()
      .open('open/me')
      .catch((e: unknown) => e);
    expect((noServer as SpoolError).code).to.equal(ErrorCode.INVALID_METADATA);
    const unknown = await new SpoolDownloadClient({ url: server.url }).open('open/nobody').catch((e: unknown) => e);
    expect((unknown as SpoolError).code).to.equal(ErrorCode.RESOURCE_NOT_FOUND);
  });

  it('onProgress: bytes sent and acknowledged, up to the total of a file', async () => {
    const file = path.join(dir, 'progress.log');
    const content = logLines(40_000);
    writeFileSync(file, content);
    for (const protocol of ['spool', 'step'] as const) {
      const seen: UploadProgress[] = [];
      const client =
        protocol === 'spool'
          ? createUploadClient(server.url, { frameSize: 64 * 1024 })
          : createUploadClient(server.url, { protocol, frameSize: 64 * 1024 });
      const upload = await client.upload(file, {
        onProgress: (progress) => {
          seen.push(progress);
          if (seen.length === 2) throw new Error('a listener that throws harms nothing');
        },
      });
      const result = await upload.complete();
      expect(result.size).to.equal(content.length);
      expect(seen.length, protocol).to.be.above(2);
      for (const [i, progress] of seen.entries()) {
        expect(progress.bytesTotal).to.equal(content.length);
        expect(progress.bytesAcknowledged).to.be.at.most(progress.bytesSent);
        if (i > 0) expect(progress.bytesSent).to.be.at.least((seen[i - 1] as UploadProgress).bytesSent);
      }
      expect(seen.at(-1)).to.deep.equal({ bytesSent: content.length, bytesAcknowledged: content.length, bytesTotal: content.length });
    }
  });

  it('AbortSignal: aborting cancels the upload (FAILED, bytes kept; complete() rejects UPLOAD_ABORTED); an aborted signal starts nothing; open() and follow stop', async () => {
    const controller = new AbortController();
    let release: () => void = () => undefined;
    const upload = await createUploadClient(server.url).upload(
      (async function* () {
        yield 'kept\n';
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      })(),
      { filename: 'abort.log', signal: controller.signal },
    );
    await eventually(async () =>
      (await request(`${server.url}/api/v1/resources/${upload.reference.id}`)).json<{ size: number }>().size === 5 ? true : undefined,
    );
    const follower = await createDownloadClient().open(upload.reference);
    const followAbort = new AbortController();
    const followed = (async () => {
      for await (const _ of follower.followLines({ signal: followAbort.signal })) followAbort.abort();
    })().catch((e: unknown) => e);
    expect(((await followed) as Error).name).to.equal('AbortError');
    await follower.close();
    controller.abort(new Error('build cancelled'));
    const error = await upload.complete().catch((e: unknown) => e);
    release();
    expect(error).to.be.instanceOf(UploadAbortedError);
    // The abort message follows at once; the server records it.
    const meta = await eventually(async () => {
      const json = (await request(`${server.url}/api/v1/resources/${upload.reference.id}`)).json<{
        state: string;
        size: number;
        error: string;
      }>();
      return json.state === 'FAILED' ? json : undefined;
    });
    expect(meta).to.include({ state: 'FAILED', size: 5 });
    expect(meta.error).to.match(/build cancelled/);

    const before = (await request(`${server.url}/api/v1/resources?prefix=never`)).json<{ resources: unknown[] }>().resources.length;
    const aborted = AbortSignal.abort();
    expect(
      await createUploadClient(server.url)
        .upload(Buffer.from('x'), { filename: 'never.log', signal: aborted })
        .catch((e: unknown) => e),
    ).to.be.instanceOf(UploadAbortedError);
    expect((await request(`${server.url}/api/v1/resources?prefix=never`)).json<{ resources: unknown[] }>().resources).to.have.length(
      before,
    );
    const open = await createDownloadClient()
      .open(upload.reference, { signal: aborted })
      .catch((e: unknown) => e);
    expect((open as Error).name).to.equal('AbortError');
  });
});
