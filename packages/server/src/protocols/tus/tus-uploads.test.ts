import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCode } from '@spool/common';
import { expect } from 'chai';
import { TusUploads } from './tus-uploads.js';

describe('TusUploads', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const freshDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-tus-'));
    dirs.push(dir);
    return dir;
  };

  it('keeps length, metadata and concatenation across a reopen; a deferred length is set once', () => {
    const dir = freshDir();
    const uploads = TusUploads.inDataDir(dir);
    uploads.create({ id: 'a', length: null, metadata: 'filename YS5sb2c=', concat: null });
    uploads.create({ id: 'b', length: 3, metadata: null, concat: { kind: 'partial' } });
    uploads.create({ id: 'c', length: 6, metadata: null, concat: { kind: 'final', parts: ['b', 'b'] } });
    expect(uploads.setLength('a', 10)).to.equal(true);
    expect(uploads.setLength('a', 11)).to.equal(false);
    expect(uploads.setLength('b', 4)).to.equal(false);
    uploads.close();
    const reopened = TusUploads.inDataDir(dir);
    expect(reopened.get('a')).to.deep.equal({ id: 'a', length: 10, metadata: 'filename YS5sb2c=', concat: null });
    expect(reopened.get('b')).to.deep.equal({ id: 'b', length: 3, metadata: null, concat: { kind: 'partial' } });
    expect(reopened.get('c')?.concat).to.deep.equal({ kind: 'final', parts: ['b', 'b'] });
    expect(reopened.idsAfter('', 2)).to.deep.equal(['a', 'b']);
    expect(reopened.idsAfter('b', 2)).to.deep.equal(['c']);
    reopened.delete('b');
    expect(reopened.get('b')).to.equal(undefined);
    reopened.close();
    expect(() => reopened.get('a'))
      .to.throw()
      .with.property('code', ErrorCode.SHUTTING_DOWN);
  });
});
