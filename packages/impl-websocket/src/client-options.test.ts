import { expect } from 'chai';
import { resolveDownloadClientOptions, resolveUploadClientOptions } from './client-options.js';

describe('client options shared by the Spool and Step clients', () => {
  it('fills upload defaults (frame size and window by protocol) and refuses sizes that are not positive integers', () => {
    const defaults = { frameSize: 1024, highWaterMark: 4096 };
    expect(resolveUploadClientOptions({ url: 'ws://h' }, defaults)).to.deep.equal({
      frameSize: 1024,
      highWaterMark: 4096,
      connectTimeoutMs: 10_000,
      responseTimeoutMs: 60_000,
      keepAliveIntervalMs: 30_000,
      headers: undefined,
      verifyMd5: false,
    });
    expect(() => resolveUploadClientOptions({ url: 'ws://h', frameSize: 0 }, defaults)).to.throw(RangeError, /frameSize/);
    expect(() => resolveUploadClientOptions({ url: 'ws://h', highWaterMark: 1.5 }, defaults)).to.throw(RangeError, /highWaterMark/);
  });

  it('accepts download replies as large as twice the largest chunk asked for, 64 MiB at least', () => {
    const small = resolveDownloadClientOptions({});
    expect([small.maxMessageBytes, small.openTimeoutMs, small.resource]).to.deep.equal([
      64 * 1024 * 1024,
      30_000,
      { maxChunkBytes: 4 * 1024 * 1024 },
    ]);
    const large = resolveDownloadClientOptions({ maxChunkBytes: 48 * 1024 * 1024, readAheadChunks: 2 });
    expect([large.maxMessageBytes, large.resource]).to.deep.equal([
      96 * 1024 * 1024,
      { maxChunkBytes: 48 * 1024 * 1024, readAheadChunks: 2 },
    ]);
    expect(resolveDownloadClientOptions({ maxMessageBytes: 1000 }).maxMessageBytes).to.equal(1000);
  });
});
