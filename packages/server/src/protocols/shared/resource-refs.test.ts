import { ErrorCode, ResourceNotFoundError, SpoolError } from '@spool/common';
import { expect } from 'chai';
import type { ResourceRecord } from '../../core/types.js';
import { ResourceRefs } from './resource-refs.js';

const ID = '0197a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

describe('ResourceRefs: an id or a name, resolved once per request', () => {
  const lookups: string[] = [];
  let holder = ID;
  const core = {
    resolve: async (ref: string): Promise<ResourceRecord> => {
      lookups.push(ref);
      if (ref === 'broken') throw new SpoolError(ErrorCode.STORAGE_FAILURE, 'disk');
      if (ref !== 'ci/build.log') throw new ResourceNotFoundError(ref);
      return { id: holder } as ResourceRecord;
    },
  };
  beforeEach(() => {
    lookups.length = 0;
  });

  it('passes ids without a lookup, and resolves a name once for a request (the rule and the handler see one resource)', async () => {
    const refs = new ResourceRefs(core);
    expect(await refs.idFor({}, ID)).to.equal(ID);
    expect(lookups).to.deep.equal([]);
    const request = {};
    expect(await refs.idFor(request, 'ci/build.log')).to.equal(ID);
    // The name passes to a newer resource meanwhile: this request still sees the first.
    holder = 'another-id';
    expect(await refs.idFor(request, 'ci/build.log')).to.equal(ID);
    expect(lookups).to.deep.equal(['ci/build.log']);
    expect(await refs.idFor({}, 'ci/build.log')).to.equal('another-id');
    holder = ID;
  });

  it('leaves a name nobody holds as it is (the handler answers 404, a capability check fails), and lets other errors through', async () => {
    const refs = new ResourceRefs(core);
    expect(await refs.idFor({}, 'nobody/holds.this')).to.equal('nobody/holds.this');
    const error = await refs.idFor({}, 'broken').catch((e: unknown) => e);
    expect((error as SpoolError).code).to.equal(ErrorCode.STORAGE_FAILURE);
  });
});
