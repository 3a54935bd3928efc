import { expect } from 'chai';
import { isConnectionError, resolveBlobRetry, retryDelayMs, withRetries } from './retry.js';

describe('blob sync retry policy', () => {
  it('waits as the original client: 10 s more each time, every 60 s from the sixth retry on', () => {
    const policy = resolveBlobRetry({ maxRetries: 8 });
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => retryDelayMs(policy, n))).to.deep.equal([
      10_000,
      20_000,
      30_000,
      40_000,
      50_000,
      60_000,
      60_000,
      60_000,
      undefined,
    ]);
    expect(retryDelayMs(resolveBlobRetry({ maxRetries: Number.POSITIVE_INFINITY }), 1_000)).to.equal(60_000);
    expect(() => resolveBlobRetry({ stepMs: -1 })).to.throw(RangeError);
  });

  it('retries connection errors only, until the retries are spent', async () => {
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    let calls = 0;
    const result = await withRetries(
      resolveBlobRetry({ stepMs: 5 }),
      async (n) => {
        calls++;
        if (n < 3) throw refused;
        return 'done';
      },
      sleep,
    );
    expect([result, calls, waits]).to.deep.equal(['done', 4, [5, 10, 15]]);

    const spent = await withRetries(resolveBlobRetry({ maxRetries: 2, stepMs: 1 }), async () => Promise.reject(refused), sleep).catch(
      (err: Error) => err,
    );
    expect(spent).to.equal(refused);
    let refusals = 0;
    const refusal = await withRetries(
      resolveBlobRetry(),
      async () => {
        refusals++;
        throw new Error('HTTP 403');
      },
      sleep,
    ).catch((err: Error) => err.message);
    expect([refusal, refusals]).to.deep.equal(['HTTP 403', 1]);
  });

  it('knows a connection error when it sees one', () => {
    expect(isConnectionError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).to.equal(true);
    expect(isConnectionError(new Error('socket hang up'))).to.equal(true);
    expect(isConnectionError(new Error('aborted'))).to.equal(true);
    expect(isConnectionError(Object.assign(new Error('x'), { code: 'ENOENT' }))).to.equal(false);
    expect(isConnectionError('ECONNRESET')).to.equal(false);
  });
});
