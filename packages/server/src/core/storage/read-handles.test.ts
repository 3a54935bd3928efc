import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { ReadHandles } from './read-handles.js';

/** The next reader of `file` gets a handle other than `previous` (which was closed). */
async function expectNewHandle(handles: ReadHandles, file: string, previous: unknown): Promise<void> {
  const next = await handles.acquire(file);
  expect(next.handle).to.not.equal(previous);
  next.release();
  handles.forget(file);
}

describe('ReadHandles', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-handles-'));
    file = path.join(dir, 'blob');
    writeFileSync(file, 'hello world');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lends one handle to every reader of a file, and keeps it for the next one', async () => {
    const handles = new ReadHandles(60_000);
    const [a, b] = await Promise.all([handles.acquire(file), handles.acquire(file)]);
    expect(a.handle).to.equal(b.handle);
    a.release();
    a.release(); // idempotent: b still holds it
    b.release();
    const c = await handles.acquire(file);
    expect(c.handle).to.equal(a.handle);
    const buffer = Buffer.alloc(5);
    await c.handle.read(buffer, 0, 5, 6);
    expect(buffer.toString()).to.equal('world');
    c.release();
    handles.forget(file);
    expect(handles.size).to.equal(0);
  });

  it('closes a handle once it has been idle', async () => {
    const handles = new ReadHandles(1);
    const lease = await handles.acquire(file);
    lease.release();
    while (handles.size > 0) await sleep(5);
    await expectNewHandle(handles, file, lease.handle);
  });

  it('forget() while in use closes the handle when its last reader releases it', async () => {
    const handles = new ReadHandles(60_000);
    const lease = await handles.acquire(file);
    handles.forget(file);
    expect(handles.size).to.equal(0);
    await lease.handle.stat(); // still usable by its reader
    lease.release();
    await expectNewHandle(handles, file, lease.handle);
  });

  it('does not cache a failed open', async () => {
    const handles = new ReadHandles(60_000);
    const missing = path.join(dir, 'missing');
    const error = await handles.acquire(missing).catch((e: unknown) => e);
    expect(error).to.have.property('code', 'ENOENT');
    expect(handles.size).to.equal(0);
  });
});
