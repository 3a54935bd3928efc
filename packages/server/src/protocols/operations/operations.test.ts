import { expect } from 'chai';
import type { Request, Response } from 'express';
import winston from 'winston';
import type { SpoolConfig } from '../../config/schema.js';
import { LocalKeyOwners } from '../../core/cluster/key-owners.js';
import type { SpoolCore } from '../../core/spool-core.js';
import { ServerMetrics } from '../../host/metrics.js';
import type { Lifecycle, PublicUrls } from '../protocol.js';
import { operationsProtocol } from './index.js';

/** The answer a handler gave, caught by a stand-in for express's Response. */
function fakeResponse() {
  const answer = { status: 0, body: undefined as unknown };
  const res = {
    status(code: number) {
      answer.status = code;
      return res;
    },
    setHeader: () => res,
    json(body: unknown) {
      answer.body = body;
      return res;
    },
  };
  return { res: res as unknown as Response, answer };
}

describe('operations protocol: /ready', () => {
  const logger = winston.createLogger({ silent: true });
  function ready(lifecycle: Lifecycle, probe: SpoolCore['probe']) {
    const core = { probe, access: { enabled: false }, activeUploads: 0 } as unknown as SpoolCore;
    const protocol = operationsProtocol.create({
      core,
      config: {} as SpoolConfig,
      logger,
      urls: {} as PublicUrls,
      metrics: new ServerMetrics(() => ({})).forProtocol('operations'),
      lifecycle,
      owners: new LocalKeyOwners(),
    });
    const route = protocol.http?.routes.find((r) => r.path === '/ready');
    return async () => {
      const { res, answer } = fakeResponse();
      await route?.handle({ query: {} } as Request, res, { kind: 'anonymous' });
      return answer;
    };
  }
  const answering = async () => ({});

  it('is 503 while starting and while stopping, without asking the backends', async () => {
    let asked = 0;
    const count = async () => {
      asked++;
      return {};
    };
    expect(await ready({ state: 'starting' }, count)()).to.deep.equal({ status: 503, body: { status: 'starting' } });
    expect(await ready({ state: 'stopping' }, count)()).to.deep.equal({ status: 503, body: { status: 'stopping' } });
    expect(asked).to.equal(0);
  });

  it('is 200 when serving and both backends answer, 503 naming the one that does not', async () => {
    expect(await ready({ state: 'serving' }, answering)()).to.deep.equal({
      status: 200,
      body: { status: 'ready', catalog: 'ok', storage: 'ok' },
    });
    expect(await ready({ state: 'serving' }, async () => ({ storage: 'EIO: i/o error' }))()).to.deep.equal({
      status: 503,
      body: { status: 'unavailable', catalog: 'ok', storage: 'failing' },
    });
  });
});
