import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { AccessControl } from '../core/access/access-control.js';
import type { Catalog } from '../core/catalog/catalog.js';
import { authenticated, authorizeRule, enforce, inherited, publicAccess, requires, requiresDecided } from './access-rule.js';

const TOKENS = [
  { name: 'ops', role: 'admin' as const, token: 'admin-token-0123456789' },
  { name: 'dash', role: 'reader' as const, token: 'reader-token-0123456789' },
];
const noCatalog = { get: async () => undefined } as unknown as Catalog;
const on = new AccessControl(true, TOKENS, noCatalog);
const off = new AccessControl(false, [], noCatalog);

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as SpoolError).code;
  }
}

describe('access rules (the one authorization point)', () => {
  it('requires: the permission, from the request', async () => {
    const rule = requires<{ id: string }>('delete', (r) => r.id);
    expect(await codeOf(enforce(on, rule, undefined, { id: 'x' }))).to.equal(ErrorCode.UNAUTHORIZED);
    expect(await codeOf(enforce(on, rule, 'nope-nope-nope-nope', { id: 'x' }))).to.equal(ErrorCode.UNAUTHORIZED);
    expect(await codeOf(enforce(on, rule, 'reader-token-0123456789', { id: 'x' }))).to.equal(ErrorCode.FORBIDDEN);
    expect(await codeOf(enforce(on, rule, 'admin-token-0123456789', { id: 'x' }))).to.equal(undefined);
    expect(await codeOf(enforce(off, rule, undefined, { id: 'x' }))).to.equal(undefined);
  });

  it('requiresDecided: the permission depends on the request', async () => {
    const rule = requiresDecided<{ all: boolean }>('list, or read', (r) => ({ permission: r.all ? 'list' : 'read' }));
    expect(await codeOf(enforce(on, rule, 'reader-token-0123456789', { all: true }))).to.equal(ErrorCode.FORBIDDEN);
    expect(await codeOf(enforce(on, rule, 'reader-token-0123456789', { all: false }))).to.equal(undefined);
  });

  it('public: anyone, even with an unknown token; the handler then sees nobody it could authorize', async () => {
    const principal = await enforce(on, publicAccess('health'), 'nope-nope-nope-nope', {});
    expect(principal.kind).to.equal('unauthenticated');
    expect(await codeOf(on.authorize(principal, 'read', 'x'))).to.equal(ErrorCode.UNAUTHORIZED);
    expect((await enforce(on, publicAccess('health'), 'admin-token-0123456789', {})).kind).to.equal('api');
  });

  it('authenticated and inherited: any known credential, nobody unknown', async () => {
    expect(await codeOf(enforce(on, authenticated('per message'), undefined, {}))).to.equal(ErrorCode.UNAUTHORIZED);
    expect((await enforce(on, authenticated('per message'), 'reader-token-0123456789', {})).kind).to.equal('api');
    expect(await codeOf(authorizeRule(on, { kind: 'unauthenticated' }, inherited('session'), {}))).to.equal(ErrorCode.UNAUTHORIZED);
    expect(await codeOf(authorizeRule(on, { kind: 'api', name: 'dash', role: 'reader' }, inherited('session'), {}))).to.equal(undefined);
  });
});
