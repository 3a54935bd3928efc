import {
  ConnectionClosedError,
  ErrorCode,
  ResourceNotFoundError,
  resolveReconnectOptions,
  type SpoolError,
  WriterConflictError,
} from '@spool/common';
import { expect } from 'chai';
import { type Reconnection, reconnectWithBackoff } from './reconnect.js';
import { type SpoolSocketEnd, SpoolSocketEnded } from './spool-socket.js';

describe('reconnectWithBackoff (one loop for upload resume and follower reconnect)', () => {
  const policy = resolveReconnectOptions({ initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 4 });
  const lost = new ConnectionClosedError('lost', { closeCode: 1006 });
  const ended = (error: SpoolError, retryable: boolean) => new SpoolSocketEnded({ error, retryable });
  /** Reconnects with `attempt` (and `more`); resolves with the result or the error it ended with. */
  const outcome = <T>(attempt: () => Promise<T>, more: Partial<Reconnection<T>> = {}): Promise<T | unknown> =>
    reconnectWithBackoff({ policy, lost, signal: new AbortController().signal, attempt, ...more }).catch((error: unknown) => error);
  /** An attempt that ends `failures` times with `error` (retryable or not), then resumes; counts its calls. */
  const attemptsFailing = (failures: number, error: SpoolError, retryable: boolean) => {
    const attempt = async () => {
      if (++attempt.calls <= failures) throw ended(error, retryable);
      return 'resumed';
    };
    attempt.calls = 0;
    return attempt;
  };

  it('retries attempts that end retryably and resolves with the first that succeeds', async () => {
    const attempt = attemptsFailing(2, new ConnectionClosedError('lost again'), true);
    expect([await outcome(attempt), attempt.calls]).to.deep.equal(['resumed', 3]);
  });

  it('stops at a refusal with its error; mayRetry decides what counts as one', async () => {
    const refusal = new ResourceNotFoundError('x');
    const refused = attemptsFailing(1, refusal, false);
    expect([await outcome(refused), refused.calls]).to.deep.equal([refusal, 1]);
    const conflict = attemptsFailing(1, new WriterConflictError('x'), false);
    const mayRetry = (end: SpoolSocketEnd) => end.retryable || end.error.code === ErrorCode.WRITER_CONFLICT;
    expect(await outcome(conflict, { mayRetry })).to.equal('resumed');
    const unexpected = new TypeError('a bug');
    expect(await outcome(() => Promise.reject(unexpected))).to.equal(unexpected);
  });

  it('gives up once the attempts are spent, with the last error or what gaveUp makes of it', async () => {
    let attempts = 0;
    const attempt = async (): Promise<never> => {
      throw ended(new ConnectionClosedError(`attempt ${++attempts}`), true);
    };
    expect([((await outcome(attempt)) as SpoolError).message, attempts]).to.deep.equal(['attempt 4', 4]);
    const gaveUp = (lastError: SpoolError, count: number) => new ConnectionClosedError(`gave up after ${count}: ${lastError.message}`);
    expect(((await outcome(attempt, { gaveUp })) as SpoolError).message).to.equal('gave up after 4: attempt 8');
    expect(await outcome(attempt, { policy: resolveReconnectOptions({ maxAttempts: 0 }) })).to.equal(lost);
  });

  it('stops waiting as soon as its signal aborts, with the abort reason, and makes no attempt', async () => {
    const controller = new AbortController();
    const attempt = attemptsFailing(0, lost, true);
    const waiting = outcome(attempt, {
      policy: resolveReconnectOptions({ initialDelayMs: 60_000, maxDelayMs: 60_000, maxElapsedMs: 600_000 }),
      signal: controller.signal,
    });
    const reason = new ConnectionClosedError('closed by the client');
    controller.abort(reason);
    expect([await waiting, attempt.calls]).to.deep.equal([reason, 0]);
  });
});
