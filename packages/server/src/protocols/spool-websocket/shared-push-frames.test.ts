import { type ResourceStatus, TransferState } from '@spool/common';
import { expect } from 'chai';
import { SharedPushFrames } from './shared-push-frames.js';

/** The messages in encoded server frames: text parsed as JSON, binary as a string. */
function messages(bytes: Buffer): unknown[] {
  const out: unknown[] = [];
  for (let at = 0; at < bytes.length; ) {
    const opcode = (bytes[at] as number) & 0x0f;
    let length = (bytes[at + 1] as number) & 0x7f;
    let header = 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    }
    const payload = bytes.subarray(at + header, at + header + length).toString('utf8');
    out.push(opcode === 1 ? JSON.parse(payload) : payload);
    at += header + length;
  }
  return out;
}

const status = (state: TransferState, size: number): ResourceStatus => ({ id: 'r', state, size, lines: 0 });

/** A `read` for SharedPushFrames.update that hands out `pieces` and counts its calls. */
function countingRead(...pieces: string[]) {
  const counter = {
    reads: 0,
    read: () => {
      counter.reads++;
      return pieces.map((piece) => Buffer.from(piece));
    },
  };
  return counter;
}

describe('SharedPushFrames', () => {
  it('encodes a status, then data, once per status and start offset, read only on a miss', () => {
    const shared = new SharedPushFrames();
    const current = status(TransferState.IN_PROGRESS, 10);
    const bytes = countingRead('ab', 'cde');
    const read = bytes.read;
    const update = shared.update(current, 5, true, read);
    expect(messages(update?.bytes ?? Buffer.alloc(0))).to.deep.equal([
      { type: 'status', id: 'r', state: 'IN_PROGRESS', size: 10, lines: 0 },
      { type: 'data', offset: 5, length: 5 },
      'abcde',
    ]);
    expect(shared.update(current, 5, true, read)).to.equal(update);
    expect(bytes.reads).to.equal(1);
    expect(messages(shared.update(current, 5, false, read)?.bytes ?? Buffer.alloc(0))).to.deep.equal([
      { type: 'data', offset: 5, length: 5 },
      'abcde',
    ]);
    expect(messages(shared.status(current).bytes)).to.deep.equal([{ type: 'status', id: 'r', state: 'IN_PROGRESS', size: 10, lines: 0 }]);
    expect(shared.status(current)).to.equal(shared.status(current));
  });

  it('puts a terminal status after its last bytes, and has nothing when the bytes are not in memory', () => {
    const shared = new SharedPushFrames();
    const done = { ...status(TransferState.COMPLETED, 3), checksum: 'c' };
    expect(messages(shared.update(done, 1, true, () => [Buffer.from('xy')])?.bytes ?? Buffer.alloc(0))).to.deep.equal([
      { type: 'data', offset: 1, length: 2 },
      'xy',
      { type: 'status', id: 'r', state: 'COMPLETED', size: 3, lines: 0, checksum: 'c' },
    ]);
    expect(shared.update(done, 0, true, () => undefined)).to.equal(undefined);
  });

  it('shares frames between distinct but equal statuses, as an event bus delivering copies hands them out', () => {
    const shared = new SharedPushFrames();
    const published = status(TransferState.IN_PROGRESS, 10);
    const bytes = countingRead('0123456789');
    const read = bytes.read;
    expect(shared.status({ ...published })).to.equal(shared.status({ ...published }));
    const update = shared.update({ ...published }, 4, true, read);
    expect(shared.update({ ...published }, 4, true, read)).to.equal(update);
    expect(bytes.reads).to.equal(1);
    // Another size or state is another status.
    expect(shared.status(status(TransferState.IN_PROGRESS, 11))).to.not.equal(shared.status(published));
    expect(shared.status(status(TransferState.COMPLETED, 10))).to.not.equal(shared.status(published));
  });

  it('never serves frames of a status that differs beyond its key', () => {
    const shared = new SharedPushFrames();
    const first = status(TransferState.IN_PROGRESS, 10);
    shared.status(first);
    expect(messages(shared.status({ ...first, lines: 3 }).bytes)).to.deep.equal([
      { type: 'status', id: 'r', state: 'IN_PROGRESS', size: 10, lines: 3 },
    ]);
  });

  it('keeps a bounded number of statuses and bytes, least recently used out first', () => {
    const byCount = new SharedPushFrames(2, 1 << 20);
    const [a, b, c] = [1, 2, 3].map((size) => status(TransferState.IN_PROGRESS, size)) as [ResourceStatus, ResourceStatus, ResourceStatus];
    const framesOfA = byCount.status(a);
    byCount.status(b);
    expect(byCount.status(a), 'used again: stays').to.equal(framesOfA);
    const framesOfB = byCount.status(b);
    byCount.status(c);
    expect(byCount.status(b)).to.equal(framesOfB);
    expect(byCount.status(a), 'least recently used: evicted').to.not.equal(framesOfA);

    const byBytes = new SharedPushFrames(100, 2000);
    const big = () => [Buffer.alloc(1500)];
    const first = byBytes.update(status(TransferState.IN_PROGRESS, 1500), 0, false, big);
    byBytes.update(status(TransferState.IN_PROGRESS, 3000), 1500, false, big);
    expect(byBytes.update(status(TransferState.IN_PROGRESS, 1500), 0, false, big)).to.not.equal(first);
  });
  it('serves every follower of one fan-out the same frames, and a status evicted meanwhile anew', () => {
    const shared = new SharedPushFrames(1, 1 << 20);
    const [a, b] = [10, 20].map((size) => status(TransferState.IN_PROGRESS, size)) as [ResourceStatus, ResourceStatus];
    const read = countingRead('0123456789');
    const first = shared.update(a, 0, true, read.read);
    for (let follower = 0; follower < 5; follower++) expect(shared.update(a, 0, true, read.read)).to.equal(first);
    expect(read.reads).to.equal(1);
    shared.status(b); // evicts a (one status kept)
    const again = shared.update(a, 0, true, read.read);
    expect(again).to.not.equal(first);
    expect(read.reads).to.equal(2);
    expect(messages((again as { bytes: Buffer }).bytes)).to.deep.equal([
      { type: 'status', id: 'r', state: 'IN_PROGRESS', size: 10, lines: 0 },
      { type: 'data', offset: 0, length: 10 },
      '0123456789',
    ]);
  });
});
