import { expect } from 'chai';
import type { Request } from 'express';
import { blobOwnerOfName, blobRefOf, blobResourceName } from './blob-names.js';
import type { BlobError } from './errors.js';

const requestOf = (params: Record<string, string>, query: Record<string, string> = {}) => ({ params, query }) as unknown as Request;

describe('blob-sync names', () => {
  it('names a blob blob-sync/<user>/<namespace>/<id>, the default namespace being default', () => {
    const blob = blobRefOf(requestOf({ user: 'alice', blobId: 'b-1_x' }));
    expect(blobResourceName(blob)).to.equal('blob-sync/alice/default/b-1_x');
    expect(blobResourceName(blobRefOf(requestOf({ user: 'a', blobId: 'b' }, { namespace: 'mail' })))).to.equal('blob-sync/a/mail/b');
  });

  it('refuses users, namespaces and ids outside ^[a-zA-Z0-9_-]+$ (at most 128) with a 400 naming which', () => {
    const refused = (params: Record<string, string>, query: Record<string, string> = {}) => {
      try {
        blobRefOf(requestOf(params, query));
      } catch (err) {
        return `${(err as BlobError).status} ${(err as Error).message.split(' must')[0]}`;
      }
      return 'accepted';
    };
    expect(refused({ user: 'a.b', blobId: 'x' })).to.equal('400 The user');
    expect(refused({ user: 'a', blobId: 'x' }, { namespace: '../etc' })).to.equal('400 The namespace');
    expect(refused({ user: 'a', blobId: 'x'.repeat(129) })).to.equal('400 The blob id');
    expect(refused({ user: 'a', blobId: '' })).to.equal('400 The blob id');
  });

  it("says whose a resource is by its name: blobs are their user's, other resources nobody's", () => {
    expect(blobOwnerOfName('blob-sync/alice/default/x')).to.equal('alice');
    expect(blobOwnerOfName('ci/1234/build.log')).to.equal(undefined);
    expect(blobOwnerOfName('blob-syncer/alice/x')).to.equal(undefined);
  });
});
