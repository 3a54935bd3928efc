import { expect } from 'chai';
import type { HspExchange } from './connection.js';
import { HspStreams } from './context.js';
import { credentialOfAuth } from './dispatcher.js';

/** An exchange whose only part in play is `cut`. */
function exchange(cuts: string[]): HspExchange {
  return { cut: (reason: string) => cuts.push(reason) } as unknown as HspExchange;
}

describe('HSP streams registry (takeover on resume)', () => {
  it('cuts the connection holding a stream and waits until it let go of the writer', async () => {
    const streams = new HspStreams();
    const cuts: string[] = [];
    const release = streams.add('r1', exchange(cuts));
    let tookOver = false;
    const taking = streams.takeOver('r1').then(() => {
      tookOver = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(cuts).to.deep.equal(['takeover']);
    expect(tookOver, 'waits for the release').to.equal(false);
    release();
    await taking;
    expect(tookOver).to.equal(true);
    // Gone from the registry: nothing to take over any more.
    await streams.takeOver('r1');
    expect(cuts).to.have.length(1);
  });

  it('a stale release does not remove a newer registration of the same stream', async () => {
    const streams = new HspStreams();
    const old = streams.add('r1', exchange([]));
    const cuts: string[] = [];
    streams.add('r1', exchange(cuts));
    old();
    void streams.takeOver('r1');
    expect(cuts).to.deep.equal(['takeover']);
  });
});

describe('HSP auth header', () => {
  it('takes a bare token or Bearer <token>; empty means none', () => {
    expect(credentialOfAuth('abc')).to.equal('abc');
    expect(credentialOfAuth('Bearer abc')).to.equal('abc');
    expect(credentialOfAuth('bearer   abc')).to.equal('abc');
    expect(credentialOfAuth('')).to.equal(undefined);
    expect(credentialOfAuth(undefined)).to.equal(undefined);
  });
});
