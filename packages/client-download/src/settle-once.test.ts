import { expect } from 'chai';
import { settleAfter, settleOnce } from './settle-once.js';

describe('settleOnce', () => {
  it('keeps the first outcome and runs every cleanup, including one registered after settling', async () => {
    const cleaned: string[] = [];
    const result = await settleOnce<string>((settle, register) => {
      settle('first'); // a listener that replays synchronously
      register(() => cleaned.push('registered late'));
      settle('second');
      settle(new Error('ignored'));
    });
    expect(result).to.equal('first');
    expect(cleaned).to.deep.equal(['registered late']);
  });

  it('rejects with an Error outcome and clears its timer', async () => {
    const err = await settleOnce<string>((settle, register) => {
      settleAfter(10, settle, register, () => new Error('timed out'));
    }).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('timed out');
  });
});
