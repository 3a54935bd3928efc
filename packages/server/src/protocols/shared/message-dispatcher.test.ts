import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { z } from 'zod';
import { AccessControl, type Principal } from '../../core/access/access-control.js';
import type { Catalog } from '../../core/catalog/catalog.js';
import { inherited, requires } from '../access-rule.js';
import { MessageDispatcher, type MessageTable } from './message-dispatcher.js';

const Schema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('make') }).strict(),
  z.object({ type: z.literal('poke'), n: z.number() }).strict(),
]);
const TABLE: MessageTable<typeof Schema> = {
  schema: Schema,
  key: 'type',
  rules: { make: requires('create'), poke: inherited('the connection') },
};
const access = new AccessControl(true, [], { get: async () => undefined } as unknown as Catalog);
const reader: Principal = { kind: 'api', name: 'dash', role: 'reader' };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as SpoolError).code;
  }
}

describe('MessageDispatcher', () => {
  it('hands inherited messages over synchronously, in order', () => {
    const seen: unknown[] = [];
    const dispatcher = new MessageDispatcher(TABLE, access, reader);
    dispatcher.dispatch('{"type":"poke","n":1}', (m) => void seen.push(m));
    dispatcher.dispatch('{"type":"poke","n":2}', (m) => void seen.push(m));
    expect(seen).to.deep.equal([
      { type: 'poke', n: 1 },
      { type: 'poke', n: 2 },
    ]);
  });

  it('checks a message’s permission before its handler', async () => {
    let handled = false;
    const dispatched = new MessageDispatcher(TABLE, access, reader).dispatch('{"type":"make"}', () => {
      handled = true;
    });
    const error = await Promise.resolve(dispatched).then(
      () => undefined,
      (err: SpoolError) => err.code,
    );
    expect(error).to.equal(ErrorCode.FORBIDDEN);
    expect(handled).to.equal(false);
  });

  it('refuses malformed JSON, types outside the table and invalid fields as INVALID_MESSAGE', () => {
    const dispatcher = new MessageDispatcher(TABLE, access, reader);
    for (const text of ['{', '{"type":"drop"}', '{"type":"poke","n":"x"}', '[]']) {
      expect(
        codeOf(() => dispatcher.dispatch(text, () => undefined)),
        text,
      ).to.equal(ErrorCode.INVALID_MESSAGE);
    }
  });
});
