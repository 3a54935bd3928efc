import { expect } from 'chai';
import { Backoff, resolveReconnectOptions } from './reconnect-policy.js';

describe('Backoff', () => {
  it('doubles the delay per attempt up to maxDelayMs, with jitter in [½, 1], and stops after maxAttempts', () => {
    const options = resolveReconnectOptions({ initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 6, maxElapsedMs: 1_000_000 });
    const highest = new Backoff(options, () => 0.999_999);
    expect(Array.from({ length: 7 }, () => highest.nextDelayMs())).to.deep.equal([100, 200, 400, 800, 1000, 1000, undefined]);
    const lowest = new Backoff(options, () => 0);
    expect(Array.from({ length: 3 }, () => lowest.nextDelayMs())).to.deep.equal([50, 100, 200]);
  });

  it('gives up once the next delay would pass maxElapsedMs', () => {
    let now = 0;
    const backoff = new Backoff(
      resolveReconnectOptions({ initialDelayMs: 100, maxElapsedMs: 250 }),
      () => 0.999_999,
      () => now,
    );
    expect(backoff.nextDelayMs()).to.equal(100);
    now = 100;
    expect(backoff.nextDelayMs()).to.equal(undefined); // 100 + 200 > 250
    expect(backoff.attempts).to.equal(1);
  });

  it('validates its options; maxAttempts 0 disables reconnecting', () => {
    expect(() => resolveReconnectOptions({ maxDelayMs: -1 })).to.throw(RangeError);
    expect(new Backoff(resolveReconnectOptions({ maxAttempts: 0 })).nextDelayMs()).to.equal(undefined);
  });
});
