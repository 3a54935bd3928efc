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

describe('SharedPushFrames', () => {
  it('encodes a status, then data, once per status and start offset, read only on a miss', () => {
    const shared = new SharedPushFrames();
    const current = status(TransferState.IN_PROGRESS, 10);
    let reads = 0;
    const read = () => {
      reads++;
      return [Buffer.from('ab'), Buffer.from('cde')];
    };
    const update = shared.update(current, 5, true, read);
    expect(messages(update?.bytes ?? Buffer.alloc(0))).to.deep.equal([
      { type: 'status', state: 'IN_PROGRESS', size: 10, lines: 0 },
      { type: 'data', offset: 5, length: 5 },
      'abcde',
    ]);
    expect(shared.update(current, 5, true, read)).to.equal(update);
    expect(reads).to.equal(1);
    expect(messages(shared.update(current, 5, false, read)?.bytes ?? Buffer.alloc(0))).to.deep.equal([
      { type: 'data', offset: 5, length: 5 },
      'abcde',
    ]);
    expect(messages(shared.status(current).bytes)).to.deep.equal([{ type: 'status', state: 'IN_PROGRESS', size: 10, lines: 0 }]);
    expect(shared.status(current)).to.equal(shared.status(current));
  });

  it('puts a terminal status after its last bytes, and has nothing when the bytes are not in memory', () => {
    const shared = new SharedPushFrames();
    const done = { ...status(TransferState.COMPLETED, 3), checksum: 'c' };
    expect(messages(shared.update(done, 1, true, () => [Buffer.from('xy')])?.bytes ?? Buffer.alloc(0))).to.deep.equal([
      { type: 'data', offset: 1, length: 2 },
      'xy',
      { type: 'status', state: 'COMPLETED', size: 3, lines: 0, checksum: 'c' },
    ]);
    expect(shared.update(done, 0, true, () => undefined)).to.equal(undefined);
  });
});
