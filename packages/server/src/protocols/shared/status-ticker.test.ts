import { expect } from 'chai';
import { StatusTicker } from './status-ticker.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('StatusTicker', () => {
  it('wakes every waiting connection once at the next tick, however often each asked', async () => {
    const ticker = new StatusTicker(20);
    const woken: string[] = [];
    const a = () => woken.push('a');
    const b = () => woken.push('b');
    ticker.wakeAtTick(a);
    ticker.wakeAtTick(a);
    ticker.wakeAtTick(b);
    expect(woken).to.deep.equal([]);
    await sleep(60);
    expect(woken).to.deep.equal(['a', 'b']);
    await sleep(60);
    expect(woken, 'nothing more without a new ask').to.deep.equal(['a', 'b']);
  });

  it('one throwing wake does not keep the others from waking; a wake asked during a tick waits for the next', async () => {
    const ticker = new StatusTicker(20);
    const woken: string[] = [];
    const again = () => woken.push('again');
    ticker.wakeAtTick(() => {
      throw new Error('closed connection');
    });
    ticker.wakeAtTick(() => {
      woken.push('first');
      ticker.wakeAtTick(again);
    });
    await sleep(30);
    expect(woken).to.deep.equal(['first']);
    await sleep(40);
    expect(woken).to.deep.equal(['first', 'again']);
  });
});
