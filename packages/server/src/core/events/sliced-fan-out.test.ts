import { expect } from 'chai';
import { spin } from '../testing/slow-listeners.js';
import { SlicedFanOut } from './sliced-fan-out.js';

describe('SlicedFanOut', () => {
  it('delivers at once, within the call, when the fan-out is short', async () => {
    const fanOut = new SlicedFanOut();
    const got: number[] = [];
    fanOut.listeners.add((m) => got.push(m as number));
    const delivered = fanOut.deliver(1);
    expect(got).to.deep.equal([1]);
    await delivered;
  });

  it('yields to the event loop between slices, and every listener gets every message in publish order', async () => {
    const fanOut = new SlicedFanOut(1);
    const listeners = 200;
    const got: number[][] = Array.from({ length: listeners }, () => []);
    for (let i = 0; i < listeners; i++) {
      fanOut.listeners.add((m) => {
        spin(0.02);
        got[i]?.push(m as number);
      });
    }
    let loopTurns = 0;
    const ticker = setInterval(() => loopTurns++, 0);
    // Published while earlier ones are still being delivered: they wait their turn.
    const deliveries: Promise<void>[] = [];
    for (let message = 0; message < 5; message++) {
      deliveries.push(fanOut.deliver(message));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(deliveries);
    clearInterval(ticker);
    expect(loopTurns).to.be.greaterThan(0);
    for (const received of got) expect(received).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('resolves only once the last listener had the message', async () => {
    const fanOut = new SlicedFanOut(0.5);
    let calls = 0;
    for (let i = 0; i < 100; i++)
      fanOut.listeners.add(() => {
        spin(0.02);
        calls++;
      });
    const delivered = fanOut.deliver('x');
    expect(calls).to.be.lessThan(100);
    await delivered;
    expect(calls).to.equal(100);
  });

  it('skips a listener removed during a delivery, not one added (it gets the next message)', async () => {
    const fanOut = new SlicedFanOut(0.5);
    const got = new Map<string, unknown[]>();
    const add = (name: string) => {
      const listener = (m: unknown) => {
        spin(0.02);
        got.set(name, [...(got.get(name) ?? []), m]);
      };
      fanOut.listeners.add(listener);
      return listener;
    };
    for (let i = 0; i < 98; i++) add(`early${i}`);
    const last = add('last');
    const first = fanOut.deliver('a');
    fanOut.listeners.delete(last);
    add('late');
    await first;
    await fanOut.deliver('b');
    expect(got.get('last')).to.equal(undefined);
    expect(got.get('late')).to.deep.equal(['b']);
    expect(got.get('early0')).to.deep.equal(['a', 'b']);
  });

  it('goes on past a listener that throws', async () => {
    const fanOut = new SlicedFanOut();
    const got: unknown[] = [];
    fanOut.listeners.add(() => {
      throw new Error('faulty');
    });
    fanOut.listeners.add((m) => got.push(m));
    await fanOut.deliver('m');
    expect(got).to.deep.equal(['m']);
  });
});
