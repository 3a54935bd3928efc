/**
 * What an operator asks of a running server: `/metrics` (Prometheus) during a live
 * upload, `/health`, `/ready`, access to the metrics, request ids (readiness while
 * starting or stopping: protocols/operations/operations.test.ts).
 */
import { PassThrough } from 'node:stream';
import { createUploadClient } from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { eventually, request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

/** The value of one sample (`name{labels} value`) in a Prometheus text answer, if present. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const want = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    if (want.every((pair) => line.includes(pair))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('operations: metrics, health, readiness, request ids', () => {
  describe('with access control off', () => {
    let server: SpoolServer;
    before(async () => {
      server = await startTestServer();
    });
    after(() => server.close());

    const scrape = async () => {
      const res = await request(`${server.url}/metrics`);
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/plain/);
      return res.text();
    };

    it('counts a live upload, its bytes and a follower while they happen, then its outcome', async () => {
      const source = new PassThrough();
      source.write('first line\n');
      const upload = await createUploadClient(server.url).upload(source, { filename: 'live.log' });
      let text = await eventually(async () => {
        const body = await scrape();
        return sample(body, 'spool_uploads_active', { protocol: 'spool-websocket' }) === 1 ? body : undefined;
      });
      expect(sample(text, 'spool_connections', { protocol: 'spool-websocket' })).to.equal(1);
      const id = (await request(`${server.url}/api/v1/resources`)).json<{ resources: { id: string }[] }>().resources[0]?.id;
      // An HTTP follower of the live upload: its answer ends when the upload does.
      const followed = request(`${server.url}/api/v1/resources/${id}/content?follow=1`);
      text = await eventually(async () => {
        const body = await scrape();
        // The live upload's bytes become visible by a checkpoint (every 20 ms here).
        const live = sample(body, 'spool_followers', { protocol: 'http-api' }) === 1;
        return live && (sample(body, 'spool_checkpoint_duration_seconds_count') ?? 0) > 0 ? body : undefined;
      });
      expect(sample(text, 'spool_bytes_in_total', { protocol: 'spool-websocket' })).to.be.greaterThan(10);
      source.end('second line\n');
      await upload.complete();
      expect((await followed).text()).to.equal('first line\nsecond line\n');
      text = await eventually(async () => {
        const body = await scrape();
        return sample(body, 'spool_uploads_total', { protocol: 'spool-websocket', outcome: 'completed' }) === 1 ? body : undefined;
      });
      expect(sample(text, 'spool_uploads_active', { protocol: 'spool-websocket' })).to.equal(0);
      expect(sample(text, 'spool_followers', { protocol: 'http-api' })).to.equal(0);
      expect(sample(text, 'spool_bytes_out_total', { protocol: 'http-api' })).to.be.greaterThan(20);
      expect(sample(text, 'spool_fanout_duration_seconds_count')).to.be.greaterThan(0);
      expect(sample(text, 'spool_http_requests_total', { protocol: 'http-api', method: 'GET', status: '200' })).to.be.greaterThan(0);
      expect(sample(text, 'process_cpu_seconds_total')).to.be.a('number');
      // Counters protocols add of their own (ProtocolDeps.metrics).
      for (const name of ['spool_backend_errors_total', 'spool_hsp_requests_total', 'spool_blob_sync_blobs_total'])
        expect(text).to.include(name);
    });

    it('answers /health and /ready, and echoes a sane X-Request-Id or makes one', async () => {
      const health = await request(`${server.url}/health`);
      expect(health.status).to.equal(200);
      expect(health.json()).to.include({ status: 'ok' });
      const ready = await request(`${server.url}/ready`, { headers: { 'X-Request-Id': 'probe-1' } });
      expect(ready.status).to.equal(200);
      expect(ready.json()).to.deep.equal({ status: 'ready', catalog: 'ok', storage: 'ok' });
      expect(ready.headers['x-request-id']).to.equal('probe-1');
      const made = await request(`${server.url}/ready`, { headers: { 'X-Request-Id': 'no spaces\tor tabs' } });
      expect(made.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    });
  });

  describe('with access control on', () => {
    let server: SpoolServer;
    before(async () => {
      server = await startTestServer({
        authEnabled: true,
        apiTokens: 'ops:admin:admin-secret-1234,viewer:reader:reader-secret-1234',
      });
    });
    after(() => server.close());

    it('refuses /metrics without a token or to a token that may not list everything, serves it to an admin token', async () => {
      expect((await request(`${server.url}/metrics`)).status).to.equal(401);
      expect((await request(`${server.url}/metrics`, { headers: { Authorization: 'Bearer reader-secret-1234' } })).status).to.equal(403);
      const res = await request(`${server.url}/metrics`, { headers: { Authorization: 'Bearer admin-secret-1234' } });
      expect(res.status).to.equal(200);
      expect(res.text()).to.include('spool_uploads_active');
      // Probes stay public.
      expect((await request(`${server.url}/ready`)).status).to.equal(200);
    });
  });

  it('with metricsToken, serves /metrics to that token only', async () => {
    const server = await startTestServer({ metricsToken: 'scraper-secret-0123456789' });
    try {
      expect((await request(`${server.url}/metrics`)).status).to.equal(401);
      expect((await request(`${server.url}/metrics?token=wrong-token`)).status).to.equal(401);
      const res = await request(`${server.url}/metrics`, { headers: { Authorization: 'Bearer scraper-secret-0123456789' } });
      expect(res.status).to.equal(200);
    } finally {
      await server.close();
    }
  });
});
