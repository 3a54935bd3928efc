import { expect } from 'chai';
import { ReplayWindow } from './replay-window.js';

describe('ReplayWindow', () => {
  it('keeps the newest maxBytes and replays from any offset inside them', () => {
    const window = new ReplayWindow(10);
    window.record(Buffer.from('abcdef'));
    window.record(Buffer.from('ghijkl'));
    expect(window.end).to.equal(12);
    expect(Buffer.concat(window.from(2) ?? []).toString()).to.equal('cdefghijkl');
    expect(Buffer.concat(window.from(5) ?? []).toString()).to.equal('fghijkl');
    expect(window.from(12)).to.deep.equal([]);
    expect(window.from(1), 'dropped').to.equal(undefined);
    expect(window.from(13), 'never sent').to.equal(undefined);
    window.record(Buffer.from('mnopqrstuvwxyz'));
    expect(Buffer.concat(window.from(16) ?? []).toString()).to.equal('qrstuvwxyz');
    expect(window.from(15)).to.equal(undefined);
  });
});
