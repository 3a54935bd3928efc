import { expect } from 'chai';
import { expectInOrderEndingWith, spin } from '../testing/slow-listeners.js';
import { type EventBus, resourceChannel } from './event-bus.js';

/** The behaviour every EventBus implementation must show. */
export function eventBusContract(name: string, open: () => Promise<EventBus>, settle = () => new Promise((r) => setTimeout(r, 0))): void {
  describe(`EventBus contract: ${name}`, () => {
    let bus: EventBus;
    beforeEach(async () => {
      bus = await open();
    });
    afterEach(async () => {
      await bus.close();
    });

    it('delivers messages of a channel to every listener in publish order', async () => {
      const a: number[] = [];
      const b: number[] = [];
      await bus.subscribe<number>('ch', (m) => a.push(m));
      await bus.subscribe<number>('ch', (m) => b.push(m));
      for (let i = 0; i < 100; i++) await bus.publish('ch', i);
      await settle();
      const expected = Array.from({ length: 100 }, (_, i) => i);
      expect(a).to.deep.equal(expected);
      expect(b).to.deep.equal(expected);
    });

    // What status fan-out relies on: per channel, every listener sees every message, equal
    // to what was published and in publish order. Not the same object: a bus may copy.
    it('gives every listener of a channel equal messages in publish order, channels interleaved', async () => {
      const statuses = (id: string) => Array.from({ length: 50 }, (_, i) => ({ id, state: 'IN_PROGRESS', size: i * 10, lines: i }));
      const got = new Map<string, unknown[]>();
      for (const listener of ['a1', 'a2', 'b1', 'b2']) {
        got.set(listener, []);
        await bus.subscribe(`status:${listener[0]}`, (m) => got.get(listener)?.push(m));
      }
      const [a, b] = [statuses('a'), statuses('b')];
      for (let i = 0; i < a.length; i++) {
        await bus.publish('status:a', a[i]);
        await bus.publish('status:b', b[i]);
      }
      await settle();
      expect(got.get('a1')).to.deep.equal(a);
      expect(got.get('a2')).to.deep.equal(a);
      expect(got.get('b1')).to.deep.equal(b);
      expect(got.get('b2')).to.deep.equal(b);
    });

    // One resource's statuses: a listener behind may skip to the newest (a bus across
    // processes coalesces), but never goes back and always gets the last.
    it('on a resource channel, each listener sees the statuses in order, may skip some, and gets the last', async () => {
      const channel = resourceChannel('r1');
      const listeners = 300;
      const got: number[][] = Array.from({ length: listeners }, () => []);
      for (let i = 0; i < listeners; i++) {
        await bus.subscribe<{ size: number }>(channel, (m) => {
          spin(0.01); // a fan-out to all of them outlasts a publish
          got[i]?.push(m.size);
        });
      }
      const published = 200;
      for (let i = 1; i <= published; i++) await bus.publish(channel, { id: 'r1', state: 'IN_PROGRESS', size: i, lines: null });
      let last: number | undefined;
      for (let wait = 0; wait < 500 && last !== published; wait++) {
        await settle();
        last = Math.min(...got.map((sizes) => sizes[sizes.length - 1] ?? 0));
        if (last !== published) await new Promise((r) => setTimeout(r, 10));
      }
      expectInOrderEndingWith(got, published);
    });

    it('keeps channels apart and stops delivery after unsubscribe', async () => {
      const got: string[] = [];
      const off = await bus.subscribe<string>('one', (m) => got.push(m));
      await bus.subscribe<string>('two', (m) => got.push(`two:${m}`));
      await bus.publish('one', 'x');
      await settle();
      off();
      await bus.publish('one', 'y');
      await bus.publish('two', 'z');
      await settle();
      expect(got).to.deep.equal(['x', 'two:z']);
    });

    it('carries JSON-shaped objects intact', async () => {
      const got: unknown[] = [];
      await bus.subscribe('obj', (m) => got.push(m));
      await bus.publish('obj', { id: 'r', state: 'IN_PROGRESS', size: 3, lines: null });
      await settle();
      expect(got).to.deep.equal([{ id: 'r', state: 'IN_PROGRESS', size: 3, lines: null }]);
    });

    it('isolates a throwing listener from the others', async () => {
      const got: number[] = [];
      await bus.subscribe<number>('iso', () => {
        throw new Error('listener bug');
      });
      await bus.subscribe<number>('iso', (m) => got.push(m));
      await bus.publish('iso', 1);
      await settle();
      expect(got).to.deep.equal([1]);
    });
  });
}
