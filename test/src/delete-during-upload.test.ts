/**
 * DELETE while an upload is writing the resource: the upload ends at once and its client
 * is told the resource was deleted (RESOURCE_NOT_FOUND "Resource <id> was deleted": Step
 * and Spool close 1008, HTTP 404), followers see FAILED ("Resource deleted"), then the
 * resource is gone. A normal case: nothing is logged at error level.
 */
import type { ResourceStatus } from '@spool/common';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { eventually, request, streamingRequest } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';
import { createRawUpload } from './helpers/spool-raw-client.js';
import { startRawUpload } from './helpers/step-raw-client.js';

interface ErrorJson {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

describe('DELETE during an upload', () => {
  let server: SpoolServer;
  let errors: string[];
  beforeEach(async () => {
    server = await startTestServer();
    errors = [];
    server.logger.on('data', (entry: { level: string; message: string }) => {
      if (entry.level === 'error') errors.push(JSON.stringify(entry));
    });
  });
  afterEach(async () => {
    await server.close();
    expect(errors, 'error-level log entries').to.deep.equal([]);
  });

  const api = (p: string) => `${server.url}/api/v1${p}`;

  /** Follows `id` from now on; `ended` resolves with every status seen, once a terminal one came. */
  async function follow(id: string): Promise<{ ended: Promise<ResourceStatus[]> }> {
    const seen: ResourceStatus[] = [];
    let end: (statuses: ResourceStatus[]) => void = () => undefined;
    const ended = new Promise<ResourceStatus[]>((resolve) => {
      end = resolve;
    });
    const unsubscribe = await server.core.subscribe(id, (status) => {
      seen.push(status);
      if (status.state === 'FAILED' || status.state === 'COMPLETED') end(seen);
    });
    return { ended: ended.finally(unsubscribe) };
  }

  /** Waits until `size` bytes of `id` are visible, deletes it over HTTP, and checks it is gone. */
  async function deleteWhenVisible(id: string, size: number): Promise<void> {
    await eventually(async () => ((await server.core.getStatus(id)).size === size ? true : undefined));
    const deleted = await request(api(`/resources/${id}`), { method: 'DELETE' });
    expect(deleted.status).to.equal(204);
    expect((await request(api(`/resources/${id}`))).status).to.equal(404);
  }

  const followerSaw = (statuses: ResourceStatus[]) => statuses[statuses.length - 1];

  it('HTTP: the PUT is answered 404 RESOURCE_NOT_FOUND "was deleted" (nothing "kept"); followers see FAILED', async () => {
    const put = streamingRequest(api('/uploads/doomed.log'));
    await put.write('first line\n');
    const id = await eventually(async () => (await server.core.list({ filenamePrefix: 'doomed.log' }))[0]?.id);
    const followed = await follow(id);
    await deleteWhenVisible(id, 11);
    await put.write('more\n').catch(() => undefined);
    const res = await put.response;
    expect(res.status).to.equal(404);
    expect(res.json<ErrorJson>().error).to.include({ code: 'RESOURCE_NOT_FOUND', message: `Resource ${id} was deleted` });
    expect(followerSaw(await followed.ended)).to.include({ state: 'FAILED', error: 'Resource deleted' });
  });

  it('Step: the uploader is closed 1008 "Resource <id> was deleted" at once; followers see FAILED', async () => {
    const { socket, id } = await startRawUpload(server.wsUrl);
    const followed = await follow(id);
    await socket.fragment(Buffer.from('step data\n'), false);
    await deleteWhenVisible(id, 10);
    expect(await socket.closed).to.deep.equal({ code: 1008, reason: `Resource ${id} was deleted` });
    expect(followerSaw(await followed.ended)).to.include({ state: 'FAILED', error: 'Resource deleted' });
  });

  it('Spool: the uploader gets error RESOURCE_NOT_FOUND and close 1008 at once; followers see FAILED', async () => {
    const { socket, ready } = await createRawUpload(server.wsUrl);
    const followed = await follow(ready.id);
    await socket.binary(Buffer.from('spool data\n'));
    await deleteWhenVisible(ready.id, 11);
    const error = await socket.message<{ code: string; message: string }>('error');
    expect(error).to.include({ code: 'RESOURCE_NOT_FOUND', message: `Resource ${ready.id} was deleted` });
    expect(await socket.closed).to.deep.equal({ code: 1008, reason: `RESOURCE_NOT_FOUND: Resource ${ready.id} was deleted` });
    expect(followerSaw(await followed.ended)).to.include({ state: 'FAILED', error: 'Resource deleted' });
  });
});
