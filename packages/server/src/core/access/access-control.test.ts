import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { SqliteCatalog } from '../catalog/sqlite-catalog.js';
import { AccessControl, credentialOf, describePrincipal } from './access-control.js';

const catalog = () => new SqliteCatalog(path.join(mkdtempSync(path.join(tmpdir(), 'spool-access-')), 'c.sqlite'));
const tokens = [
  { name: 'root', role: 'admin' as const, token: 'admin-secret' },
  { name: 'ci', role: 'uploader' as const, token: 'uploader-secret' },
  { name: 'viewer', role: 'reader' as const, token: 'reader-secret' },
];

const denied = async (run: () => unknown): Promise<string> => {
  try {
    await run();
  } catch (err) {
    return (err as SpoolError).code;
  }
  return 'allowed';
};

/** Access control (on) over a fresh catalog holding resource r1 with freshly issued capability tokens. */
async function withCapabilities() {
  const store = catalog();
  const access = new AccessControl(true, tokens, store);
  const caps = access.issueCapabilities();
  if (!caps) throw new Error('expected capabilities');
  await store.create({ id: 'r1', filename: 'a', mimeType: 'text/plain', supportsLineAccess: true, contextId: null, ...caps });
  return { store, access, caps };
}

describe('AccessControl', () => {
  it('allows everything when off', async () => {
    const access = new AccessControl(false, tokens, catalog());
    const anyone = await access.authenticate(undefined);
    expect(await denied(() => access.authorize(anyone, 'list'))).to.equal('allowed');
    expect(access.issueCapabilities()).to.equal(null);
  });

  it('requires a known token when on', async () => {
    const access = new AccessControl(true, tokens, catalog());
    expect(await denied(() => access.authenticate(undefined))).to.equal(ErrorCode.UNAUTHORIZED);
    expect(await denied(() => access.authenticate('guess'))).to.equal(ErrorCode.UNAUTHORIZED);
    expect(await access.authenticate('uploader-secret')).to.deep.equal({ kind: 'api', name: 'ci', role: 'uploader' });
  });

  it('applies roles: admin all, uploader create/write/read, reader read; listing all is admin-only', async () => {
    const access = new AccessControl(true, tokens, catalog());
    const [admin, uploader, reader] = await Promise.all(
      ['admin-secret', 'uploader-secret', 'reader-secret'].map((t) => access.authenticate(t)),
    );
    expect(await denied(() => access.authorize(admin as never, 'list'))).to.equal('allowed');
    expect(await denied(() => access.authorize(uploader as never, 'create'))).to.equal('allowed');
    expect(await denied(() => access.authorize(uploader as never, 'list'))).to.equal(ErrorCode.FORBIDDEN);
    expect(await denied(() => access.authorize(reader as never, 'read', 'x'))).to.equal('allowed');
    expect(await denied(() => access.authorize(reader as never, 'create'))).to.equal(ErrorCode.FORBIDDEN);
    expect(await denied(() => access.authorize(reader as never, 'delete', 'x'))).to.equal(ErrorCode.FORBIDDEN);
  });

  it('issues capability tokens bound to one resource, stored only as hashes', async () => {
    const { store, access, caps } = await withCapabilities();
    expect(caps.writeToken).to.match(/^spw_/);
    expect(caps.readToken).to.match(/^spr_/);
    await store.create({ id: 'r2', filename: 'b', mimeType: 'text/plain', supportsLineAccess: true, contextId: null });
    const record = await store.get('r1');
    expect(JSON.stringify(record)).not.to.contain(caps.writeToken);
    const writer = await access.authenticate(caps.writeToken);
    const reader = await access.authenticate(caps.readToken);
    expect(writer).to.deep.include({ kind: 'capability', resourceId: 'r1', access: 'write' });
    expect(reader).to.deep.include({ kind: 'capability', resourceId: 'r1', access: 'read' });
    expect(await denied(() => access.authorize(writer, 'write', 'r1'))).to.equal('allowed');
    expect(await denied(() => access.authorize(writer, 'delete', 'r1'))).to.equal('allowed');
    expect(await denied(() => access.authorize(reader, 'read', 'r1'))).to.equal('allowed');
    expect(await denied(() => access.authorize(reader, 'write', 'r1'))).to.equal(ErrorCode.FORBIDDEN);
    expect(await denied(() => access.authorize(writer, 'read', 'r2'))).to.equal(ErrorCode.FORBIDDEN);
    expect(await denied(() => access.authorize(writer, 'create'))).to.equal(ErrorCode.FORBIDDEN);
    expect(await denied(() => access.authorize(reader, 'list'))).to.equal(ErrorCode.FORBIDDEN);
  });

  it('knows a capability token only while its resource exists: a forged or stale one is unknown (401)', async () => {
    const { store, access, caps } = await withCapabilities();
    expect(await denied(() => access.authenticate(`spw_${'A'.repeat(43)}`))).to.equal(ErrorCode.UNAUTHORIZED);
    expect(await denied(() => access.authenticate(`spr_${'A'.repeat(43)}`))).to.equal(ErrorCode.UNAUTHORIZED);
    // A token of one kind does not pass for the other.
    expect(await denied(() => access.authenticate(`spw_${caps.readToken.slice(4)}`))).to.equal(ErrorCode.UNAUTHORIZED);
    await store.delete('r1');
    expect(await denied(() => access.authenticate(caps.writeToken))).to.equal(ErrorCode.UNAUTHORIZED);
  });

  it('names tokens in errors and logs without a character of their secret', async () => {
    const { access, caps } = await withCapabilities();
    const reader = await access.authenticate(caps.readToken);
    const refusal = await access.authorize(reader, 'delete', 'r1').catch((err: SpoolError) => err.message);
    expect(refusal).to.equal(`The read token #${caps.readTokenHash.slice(0, 8)} does not allow delete of resource r1`);
    expect(describePrincipal(reader)).to.equal(`read token #${caps.readTokenHash.slice(0, 8)} of resource r1`);
    const unknown = await access.authenticate('admin-secreT').catch((err: SpoolError) => err.message);
    expect(unknown).to.equal('Unknown access token');
  });

  it('reads Bearer headers and token query parameters', () => {
    expect(credentialOf({ authorization: 'Bearer abc' }, new URL('http://x/?token=zzz'))).to.equal('abc');
    expect(credentialOf({}, new URL('http://x/a?token=zzz'))).to.equal('zzz');
    expect(credentialOf({ authorization: 'Basic abc' }, new URL('http://x/'))).to.equal(undefined);
  });

  describe('what belongs to a user (blobs: ownerOfName)', () => {
    const ownerOf = (name: string) => (name.startsWith('blobs/') ? name.split('/')[1] : undefined);
    const owners = [
      ...tokens,
      { name: 'alice', role: 'uploader' as const, token: 'alice-secret-0000' },
      { name: 'bob', role: 'uploader' as const, token: 'bob-secret-000000' },
      { name: 'carol', role: 'reader' as const, token: 'carol-secret-0000' },
    ];
    async function setup() {
      const store = catalog();
      const access = new AccessControl(true, owners, store, ownerOf);
      await store.create({
        id: 'b1',
        name: 'blobs/alice/default/x',
        filename: 'x',
        mimeType: 'a/b',
        supportsLineAccess: false,
        contextId: null,
      });
      await store.create({ id: 'plain', filename: 'y', mimeType: 'a/b', supportsLineAccess: false, contextId: null });
      const who = async (token: string) => access.authenticate(token);
      return { access, who };
    }

    it('lets a token named like the user touch its own things (uploader: all, reader: read and list), nobody else but an admin', async () => {
      const { access, who } = await setup();
      const [alice, bob, carol, root] = await Promise.all(
        ['alice-secret-0000', 'bob-secret-000000', 'carol-secret-0000', 'admin-secret'].map(who),
      );
      for (const permission of ['create', 'write', 'read', 'list', 'delete'] as const) {
        expect(await denied(() => access.authorize(alice as never, permission, undefined, 'alice')), permission).to.equal('allowed');
        expect(await denied(() => access.authorize(root as never, permission, undefined, 'alice')), permission).to.equal('allowed');
        expect(await denied(() => access.authorize(bob as never, permission, undefined, 'alice')), permission).to.equal(
          ErrorCode.FORBIDDEN,
        );
      }
      expect(await denied(() => access.authorize(carol as never, 'list', undefined, 'carol'))).to.equal('allowed');
      expect(await denied(() => access.authorize(carol as never, 'create', undefined, 'carol'))).to.equal(ErrorCode.FORBIDDEN);
    });

    it("applies the owner on every protocol: a resource named as a user's is theirs by id too", async () => {
      const { access, who } = await setup();
      const [alice, bob, viewer] = await Promise.all(['alice-secret-0000', 'bob-secret-000000', 'reader-secret'].map(who));
      expect(await denied(() => access.authorize(alice as never, 'read', 'b1'))).to.equal('allowed');
      expect(await denied(() => access.authorize(alice as never, 'delete', 'b1'))).to.equal('allowed');
      expect(await denied(() => access.authorize(bob as never, 'read', 'b1'))).to.equal(ErrorCode.FORBIDDEN);
      expect(await denied(() => access.authorize(viewer as never, 'read', 'b1'))).to.equal(ErrorCode.FORBIDDEN);
      // Other resources: roles as ever.
      expect(await denied(() => access.authorize(bob as never, 'read', 'plain'))).to.equal('allowed');
      expect(await denied(() => access.authorize(bob as never, 'delete', 'plain'))).to.equal(ErrorCode.FORBIDDEN);
    });

    it('never lets a capability token act for a user', async () => {
      const { access, caps } = await withCapabilities();
      const writer = await access.authenticate(caps.writeToken);
      expect(await denied(() => access.authorize(writer, 'read', 'r1', 'alice'))).to.equal(ErrorCode.FORBIDDEN);
    });
  });
});
