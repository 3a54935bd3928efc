import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { SqliteCatalog } from '../catalog/sqlite-catalog.js';
import { AccessControl, credentialOf } from './access-control.js';

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

describe('AccessControl', () => {
  it('allows everything when off', async () => {
    const access = new AccessControl(false, tokens, catalog());
    const anyone = access.authenticate(undefined);
    expect(await denied(() => access.authorize(anyone, 'list'))).to.equal('allowed');
    expect(access.issueCapabilities()).to.equal(null);
  });

  it('requires a known token when on', async () => {
    const access = new AccessControl(true, tokens, catalog());
    expect(await denied(() => access.authenticate(undefined))).to.equal(ErrorCode.UNAUTHORIZED);
    expect(await denied(() => access.authenticate('guess'))).to.equal(ErrorCode.UNAUTHORIZED);
    expect(access.authenticate('uploader-secret')).to.deep.equal({ kind: 'api', name: 'ci', role: 'uploader' });
  });

  it('applies roles: admin all, uploader create/write/read, reader read; listing all is admin-only', async () => {
    const access = new AccessControl(true, tokens, catalog());
    const [admin, uploader, reader] = ['admin-secret', 'uploader-secret', 'reader-secret'].map((t) => access.authenticate(t));
    expect(await denied(() => access.authorize(admin as never, 'list'))).to.equal('allowed');
    expect(await denied(() => access.authorize(uploader as never, 'create'))).to.equal('allowed');
    expect(await denied(() => access.authorize(uploader as never, 'list'))).to.equal(ErrorCode.FORBIDDEN);
    expect(await denied(() => access.authorize(reader as never, 'read', 'x'))).to.equal('allowed');
    expect(await denied(() => access.authorize(reader as never, 'create'))).to.equal(ErrorCode.FORBIDDEN);
    expect(await denied(() => access.authorize(reader as never, 'delete', 'x'))).to.equal(ErrorCode.FORBIDDEN);
  });

  it('issues capability tokens bound to one resource, stored only as hashes', async () => {
    const store = catalog();
    const access = new AccessControl(true, tokens, store);
    const caps = access.issueCapabilities();
    if (!caps) throw new Error('expected capabilities');
    expect(caps.writeToken).to.match(/^spw_/);
    expect(caps.readToken).to.match(/^spr_/);
    await store.create({ id: 'r1', filename: 'a', mimeType: 'text/plain', supportsLineAccess: true, contextId: null, ...caps });
    await store.create({ id: 'r2', filename: 'b', mimeType: 'text/plain', supportsLineAccess: true, contextId: null });
    const record = await store.get('r1');
    expect(JSON.stringify(record)).not.to.contain(caps.writeToken);
    const writer = access.authenticate(caps.writeToken);
    const reader = access.authenticate(caps.readToken);
    expect(await denied(() => access.authorize(writer, 'write', 'r1'))).to.equal('allowed');
    expect(await denied(() => access.authorize(writer, 'delete', 'r1'))).to.equal('allowed');
    expect(await denied(() => access.authorize(reader, 'read', 'r1'))).to.equal('allowed');
    expect(await denied(() => access.authorize(reader, 'write', 'r1'))).to.equal(ErrorCode.FORBIDDEN);
    expect(await denied(() => access.authorize(writer, 'read', 'r2'))).to.equal(ErrorCode.FORBIDDEN);
    expect(await denied(() => access.authorize(writer, 'create'))).to.equal(ErrorCode.FORBIDDEN);
    const forged = access.authenticate('spw_forged');
    expect(await denied(() => access.authorize(forged, 'write', 'r1'))).to.equal(ErrorCode.FORBIDDEN);
  });

  it('reads Bearer headers and token query parameters', () => {
    expect(credentialOf({ authorization: 'Bearer abc' }, new URL('http://x/?token=zzz'))).to.equal('abc');
    expect(credentialOf({}, new URL('http://x/a?token=zzz'))).to.equal('zzz');
    expect(credentialOf({ authorization: 'Basic abc' }, new URL('http://x/'))).to.equal(undefined);
  });
});
