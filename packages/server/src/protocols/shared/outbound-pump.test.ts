import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { OutboundPump, RequestQueue } from './outbound-pump.js';

describe('OutboundPump', () => {
  it('runs synchronous steps at once, waits for asynchronous ones, never two runs at a time', async () => {
    const work: Array<'sync' | 'async'> = ['sync', 'async', 'sync'];
    const done: string[] = [];
    let running = 0;
    let overlap = false;
    const pump = new OutboundPump(
      () => {
        const next = work.shift();
        if (!next) return false;
        if (next === 'sync') {
          done.push('sync');
          return true;
        }
        running++;
        if (running > 1) overlap = true;
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            running--;
            done.push('async');
            resolve();
          }, 5),
        );
      },
      () => false,
      (err) => {
        throw err;
      },
    );
    pump.kick();
    expect(done).to.deep.equal(['sync']);
    pump.kick(); // while the async step runs: does nothing
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).to.deep.equal(['sync', 'async', 'sync']);
    expect(overlap).to.equal(false);
    work.push('sync');
    pump.kick(); // idle again: a kick runs it
    expect(done).to.have.length(4);
  });

  it('reports a failing step and stops; sends nothing once closed', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const failing = new OutboundPump(
      () => {
        calls++;
        return Promise.reject(new Error('socket gone'));
      },
      () => false,
      (err) => errors.push(err),
    );
    failing.kick();
    await new Promise((resolve) => setImmediate(resolve));
    expect((errors[0] as Error).message).to.equal('socket gone');
    const closed = new OutboundPump(
      () => {
        calls++;
        return true;
      },
      () => true,
      () => undefined,
    );
    closed.kick();
    expect(calls).to.equal(1);
  });
});

describe('RequestQueue', () => {
  it('refuses a request past its bound with INVALID_MESSAGE', () => {
    const queue = new RequestQueue<number>(2);
    queue.push(1);
    queue.push(2);
    expect(() => queue.push(3))
      .to.throw()
      .that.satisfies((err: SpoolError) => err.code === ErrorCode.INVALID_MESSAGE);
    expect(queue.shift()).to.equal(1);
    expect(queue.length).to.equal(1);
  });
});
